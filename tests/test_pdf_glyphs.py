"""Glyphs of fonts without a ToUnicode map: ligature slots that MuPDF reports as control characters
must become their letters ("signifier", not "signier"), in the Markdown and in the text a page is
judged by."""

from __future__ import annotations

import pytest

from pin_assets.core.pdf import pdf_to_markdown
from pin_assets.core.pdf.glyphs import LIGATURES
from tests.hostile_corpus import raw_pdf, stream


def type3_pdf(text: bytes) -> bytes:
    """One line of ``text`` in a Type 3 font whose glyphs are named by number (``/a12``), as dvips and
    other TeX tools write bitmap fonts: no ToUnicode, no standard names, so MuPDF reports the codes."""
    codes = sorted(set(text))
    names = b" ".join(b"%d /a%d" % (c, c) for c in codes)
    procs = b" ".join(b"/a%d 6 0 R" % c for c in codes)
    escaped = text.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        stream(b"", b"BT /F1 12 Tf 72 700 Td (" + escaped + b") Tj ET"),
        b"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 500 700] /FontMatrix [0.001 0 0 0.001 0 0] "
        b"/CharProcs << " + procs + b" >> /Encoding << /Type /Encoding /Differences [" + names + b"] >> "
        b"/FirstChar 0 /LastChar 255 /Widths [" + b" 500" * 256 + b"] /Resources << >> >>",
        stream(b"", b"500 0 0 0 400 600 d1 0 0 400 600 re f"),
    ])


@pytest.mark.parametrize(("encoded", "plain"), [
    # OT1 (LaTeX's default); its fl slot 0x0D is carriage return, which MuPDF reports as U+FFFD
    (b"The signi\x0cer of an e\x0bort to \x0cnd o\x0eces, ba\x0fed.",
     "The signifier of an effort to find offices, baffled."),
    (b"The signi\x1cer of an e\x1bort to \x1cnd the \x1dow and o\x1eces, ba\x1fed.",  # T1 (Cork)
     "The signifier of an effort to find the flow and offices, baffled."),
])
def test_tex_ligature_slots_become_letters(encoded: bytes, plain: str) -> None:
    assert pdf_to_markdown(type3_pdf(encoded)).markdown.strip() == plain


def test_ligature_code_points_and_apple_private_use() -> None:
    text = "\ufb01nd e\ufb00ort \ufb02ow \uf001sh \uf002y \u0133s"
    assert text.translate(LIGATURES) == "find effort flow fish fly ijs"
