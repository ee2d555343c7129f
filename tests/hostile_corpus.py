"""Generators for an adversarial corpus: every file is made here, from code, in well under a second each.

The point is to feed the pipeline what the open web feeds it (broken, hostile and absurd files) and to
pin down, per file, the one outcome we promise: converted, or quarantined with a named reason. Each
:class:`HostileCase` carries that expectation so the single-document timing table
(``python -m tests.hostile_corpus``) and the whole-graph test check the same thing.

Files that must not be reachable (a "secret" beside the batch, a loopback HTTP server) are passed in by
the caller, so a test can prove nothing was read or fetched.
"""

from __future__ import annotations

import base64
import functools
import random
import struct
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import pymupdf

from tests.conftest import make_text_pdf

SAMPLE_PDF = Path(__file__).resolve().parents[1] / "pin_assets" / "data" / "sample" / "pdf"
HUGE_SIDE = 20_000  # a 20,000 x 20,000 image: 400 million decoded pixels from a ~50 KB file
SECRET_MARKER = "TOP-SECRET-MARKER-7f3a"


@dataclass(frozen=True)
class HostileCase:
    """One generated file, where it goes in a batch folder, and what must come of it.

    ``reason`` is the quarantine reason expected from the parse stage, or ``None`` for "converted";
    ``limit`` names the :class:`~resources.processing.ProcessingResource` field its message must name.
    """

    name: str
    data: bytes
    reason: str | None
    limit: str | None = None
    note: str = ""


# ---------------------------------------------------------------- raw PDF building blocks


def raw_pdf(objects: list[bytes], *, root: int = 1) -> bytes:
    """A PDF from object bodies (numbered from 1) with a correct cross-reference table.

    Hand-built so a test can declare things no PDF library would write (a 20,000 px image from a tiny
    stream, exponential form fan-out, absurd nesting) while keeping the file itself valid.
    """
    out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    size = len(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, xref)


def stream(dictionary: bytes, payload: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(payload) + payload + b"\nendstream"


def _page_objects(content: bytes, resources: bytes) -> list[bytes]:
    """Catalog, page tree and one page (objects 1-4) drawing ``content`` with ``resources``."""
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources " + resources + b" /Contents 4 0 R >>",
        stream(b"", content),
    ]


def huge_image_pdf(side: int = HUGE_SIDE) -> bytes:
    """A page showing a ``side`` x ``side`` 1-bit image whose Flate stream is ~50 KB of compressed zeros.

    The converter sees the declared (decoded) size, 400 million pixels, which is what the limit is about.
    """
    pixels = zlib.compress(bytes((side + 7) // 8 * side), 9)
    image = stream(
        b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 1"
        b" /Filter /FlateDecode" % (side, side),
        pixels,
    )
    text = b"BT /F1 12 Tf 72 720 Td (A page with one very large picture.) Tj ET "
    objects = _page_objects(text + b"q 468 0 0 468 72 100 cm /Im1 Do Q",
                            b"<< /XObject << /Im1 5 0 R >> /Font << /F1 6 0 R >> >>")
    return raw_pdf([*objects, image, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"])


def form_bomb_pdf(levels: int = 9, fan_out: int = 10) -> bytes:
    """A PDF "billion laughs": form k draws form k+1 ``fan_out`` times, so the page runs fan_out**levels
    text-drawing operations from a file of a few KB. MuPDF has no budget for this, so text extraction spins.
    """
    first_form = 6
    forms = []
    for level in range(levels):
        if level == levels - 1:
            content, resources = b"BT /F1 8 Tf 1 1 Td (laugh) Tj ET", b"<< /Font << /F1 5 0 R >> >>"
        else:
            child = first_form + level + 1
            content = b" ".join(b"q 1 0 0 1 %d 0 cm /X Do Q" % i for i in range(fan_out))
            resources = b"<< /XObject << /X %d 0 R >> >>" % child
        forms.append(stream(b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources " + resources, content))
    page = _page_objects(b"/X Do", b"<< /XObject << /X %d 0 R >> >>" % first_form)
    return raw_pdf([*page, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", *forms])


def deeply_nested_pdf(depth: int = 100_000) -> bytes:
    """A page whose dictionary holds an array nested ``depth`` levels deep (a stack-exhaustion probe)."""
    nested = b"[" * depth + b"]" * depth
    objects = _page_objects(b"BT /F1 12 Tf 72 720 Td (Nested objects below.) Tj ET",
                            b"<< /Font << /F1 5 0 R >> >> /Junk " + nested)
    return raw_pdf([*objects, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"])


def zero_page_pdf() -> bytes:
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def blank_pages_pdf(pages: int = 2000) -> bytes:
    """``pages`` empty pages: cheap to make (about 100 KB), expensive to convert and render."""
    doc = pymupdf.open()
    for _ in range(pages):
        doc.new_page()
    return doc.tobytes(garbage=1)


def encrypted_pdf(*, user_password: bool) -> bytes:
    base = make_text_pdf("An encrypted report about reliability and quarantine", 2)
    doc = pymupdf.open(stream=base, filetype="pdf")
    if user_password:
        return doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="user", owner_pw="owner")
    return doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner",
                       permissions=pymupdf.PDF_PERM_ACCESSIBILITY | pymupdf.PDF_PERM_PRINT)


def broken_xref_pdf() -> bytes:
    """A real PDF whose cross-reference offsets all point to the wrong place (MuPDF must rebuild it)."""
    data = bytearray((SAMPLE_PDF / "multi_page.pdf").read_bytes())
    start = data.rfind(b"startxref")
    data[start + len(b"startxref\n") : start + len(b"startxref\n") + 4] = b"1234"
    body = bytes(data)
    return body.replace(b" 00000 n", b" 00007 n").replace(b"xref\n0 ", b"xref\n0 ", 1)


def corrupted_pdf() -> bytes:
    """A real PDF with 4 KB of random bytes written over the middle of its body."""
    data = bytearray((SAMPLE_PDF / "multi_page.pdf").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = random.Random(11).randbytes(4096)
    return bytes(data)


def truncated_pdf() -> bytes:
    """The first 40% of a real PDF: no xref, no trailer, the last object cut in half."""
    data = (SAMPLE_PDF / "multi_page.pdf").read_bytes()
    return data[: int(len(data) * 0.4)]


# ---------------------------------------------------------------- images for HTML and JATS


@functools.cache
def huge_png(side: int = HUGE_SIDE) -> bytes:
    """A valid 1-bit PNG declaring ``side`` x ``side`` pixels; ~50 KB on disk, 400 MP when decoded."""
    row = b"\x00" + bytes((side + 7) // 8)  # filter byte 0 + one row of black pixels

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def small_png() -> bytes:
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 64, 48), False)
    pix.set_rect(pix.irect, (30, 120, 200))
    return pix.tobytes("png")


def _html(body: str, head: str = "") -> bytes:
    return f"<!DOCTYPE html><html><head>{head}<title>Hostile page</title></head><body>{body}</body></html>".encode()


PROSE = (
    "<h1>Field notes</h1><p>The committee met on Tuesday to discuss the reliability of the archive and the "
    "way pathological files are handled by the ingestion pipeline.</p>"
)


def escaping_html(server: str) -> bytes:
    """Image references that try to leave the document folder or reach the network."""
    refs = [
        "../../x.png", "../../../../../../etc/passwd", "/etc/passwd", "file:///etc/passwd",
        f"{server}/loopback.png", "http://10.0.0.1/private.png", "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/v6.png", "//127.0.0.1/protocol-relative.png", "img/..%2f..%2fx.png",
    ]
    images = "".join(f'<p>Figure {i}: <img src="{ref}" alt="figure {i}"></p>' for i, ref in enumerate(refs))
    links = f'<link rel="stylesheet" href="{server}/style.css"><script src="{server}/x.js"></script>'
    return _html(PROSE + images + f'<iframe src="{server}/frame"></iframe>', head=links)


def escaping_jats(server: str) -> bytes:
    """A JATS article whose figures point outside its folder and to a loopback URL."""
    refs = ["../../x", "/etc/passwd", "../../../outside.png", f"{server}/figure.png"]
    figures = "".join(
        f'<fig id="f{i}"><label>Figure {i}</label><caption><p>Escaping figure {i}.</p></caption>'
        f'<graphic xlink:href="{ref}"/></fig>'
        for i, ref in enumerate(refs)
    )
    return _jats(f"<sec><title>Results</title><p>Figures follow in order.</p>{figures}</sec>")


def _jats(body: str, doctype: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>' + doctype +
        '<article xmlns:xlink="http://www.w3.org/1999/xlink" article-type="research-article"><front>'
        "<article-meta><title-group><article-title>A hostile article</article-title></title-group>"
        "</article-meta></front><body>" + body + "</body></article>"
    ).encode()


def entity_bomb_xml() -> bytes:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    return _jats("<p>&lol9;</p>", doctype=f"<!DOCTYPE article [{entities}]>")


def external_entity_file_xml(secret: Path) -> bytes:
    return _jats("<sec><title>Leak</title><p>&xxe;</p></sec>",
                 doctype=f'<!DOCTYPE article [<!ENTITY xxe SYSTEM "file://{secret}">]>')


def external_entity_http_xml(server: str) -> bytes:
    return _jats("<sec><title>Leak</title><p>&xxe;</p></sec>",
                 doctype=f'<!DOCTYPE article [<!ENTITY xxe SYSTEM "{server}/entity">]>')


def external_dtd_xml(server: str) -> bytes:
    """No entity declared in the file itself: a validating or DTD-loading parser would fetch the DTD."""
    body = (
        '<sec><title>Include</title><p>Plain text that should survive.</p>'
        f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{server}/xinclude" parse="text"/></sec>'
    )
    return _jats(body, doctype=f'<!DOCTYPE article SYSTEM "{server}/article.dtd">')


def jats_with_image(name: str) -> bytes:
    return _jats(
        "<sec><title>Results</title><p>One big figure follows.</p>"
        f'<fig id="f1"><label>Figure 1</label><caption><p>Large.</p></caption><graphic xlink:href="{name}"/></fig>'
        "</sec>"
    )


# ---------------------------------------------------------------- the corpus


def hostile_cases(server: str, secret: Path) -> list[HostileCase]:
    """Every single-file hostile document, with its expected parse outcome.

    ``server`` is the base URL of a loopback HTTP server the caller watches; ``secret`` a file that must
    never be read into any output.
    """
    prose = ("Caf\u00e9 na\u00efve fa\u00e7ade, r\u00e9sum\u00e9 of the d\u00e9j\u00e0 vu. " * 6 + "\n\n") * 20
    shift_jis = "<p>\u65e5\u672c\u8a9e\u306e\u6587\u66f8\u3067\u3059\u3002\u4fe1\u983c\u6027\u3002</p>" * 30
    huge_data_uri = "data:image/png;base64," + base64.b64encode(huge_png()).decode()
    return [
        HostileCase("truncated.pdf", truncated_pdf(), None, note="MuPDF repairs the first 40%"),
        HostileCase("corrupted.pdf", corrupted_pdf(), None, note="4 KB overwritten; repaired"),
        HostileCase("broken_xref.pdf", broken_xref_pdf(), None, note="xref rebuilt"),
        HostileCase("encrypted_user.pdf", encrypted_pdf(user_password=True), "encrypted"),
        HostileCase("encrypted_owner_only.pdf", encrypted_pdf(user_password=False), None,
                    note="opens without a password"),
        HostileCase("zero_pages.pdf", zero_page_pdf(), "no_pages"),
        HostileCase("two_thousand_pages.pdf", blank_pages_pdf(2000), "limit", "max_pages"),
        HostileCase("huge_image.pdf", huge_image_pdf(), "limit", "max_image_pixels"),
        HostileCase("deeply_nested.pdf", deeply_nested_pdf(), None,
                    note="MuPDF cannot load the page (stack overflow); poppler's pdftotext reads its text"),
        HostileCase("form_bomb.pdf", form_bomb_pdf(), "timeout", "doc_timeout_s"),
        HostileCase("zero_bytes.pdf", b"", "empty"),
        HostileCase("random_bytes.bin", random.Random(5).randbytes(64 * 1024), "unsupported"),
        HostileCase("long_line.html", _html("<p>" + "lorem ipsum dolor " * 600_000 + "</p>"), "limit", "max_pages",
                    note="10 MB on one line"),
        HostileCase("huge_data_uri.html", _html(PROSE + f'<img src="{huge_data_uri}" alt="bomb">'), "limit",
                    "max_image_pixels"),
        HostileCase("entity_bomb.xml", entity_bomb_xml(), "unsafe"),
        HostileCase("external_entity_file.xml", external_entity_file_xml(secret), "unsafe"),
        HostileCase("external_entity_http.xml", external_entity_http_xml(server), "unsafe"),
        HostileCase("external_dtd.xml", external_dtd_xml(server), None, note="DTD and XInclude not loaded"),
        HostileCase("latin1.txt", prose.encode("latin-1"), None),
        HostileCase("mixed_encoding.txt", prose.encode() + prose.encode("cp1252") + "\u00a9 end".encode(), None),
        HostileCase("utf16.txt", prose.encode("utf-16"), None),
        HostileCase("shift_jis.html", _html(shift_jis, '<meta charset="shift_jis">').replace(
            shift_jis.encode(), shift_jis.encode("shift_jis")), None),
        HostileCase("escaping.html", escaping_html(server), None, note="every image recorded missing"),
        HostileCase("escaping.xml", escaping_jats(server), None, note="every figure recorded missing"),
    ]


def linked_cases() -> dict[str, bytes]:
    """Documents with image files beside them (relative path -> bytes): the huge image must be refused."""
    return {
        "web/huge.html": _html(PROSE + '<img src="img/huge.png" alt="huge"><img src="img/ok.png" alt="ok">'),
        "web/img/huge.png": huge_png(),
        "web/img/ok.png": small_png(),
        "pmc/huge_figure.nxml": jats_with_image("huge_figure"),
        "pmc/huge_figure.png": huge_png(),
    }


def write_batch(folder: Path, server: str, secret: Path) -> list[HostileCase]:
    """Write the whole corpus (single files and linked ones) into ``folder``; return the single cases."""
    folder.mkdir(parents=True, exist_ok=True)
    cases = hostile_cases(server, secret)
    for case in cases:
        (folder / case.name).write_bytes(case.data)
    for relpath, data in linked_cases().items():
        (folder / relpath).parent.mkdir(parents=True, exist_ok=True)
        (folder / relpath).write_bytes(data)
    return cases


def _main() -> None:
    """Print each document's outcome and time to verdict, through one warm single-worker pool.

    Documents run one after another, so the gap between two results is one document's time; a warm-up
    document absorbs the pool's start-up. A timed-out worker is replaced, and that restart is counted in
    the next document's time.
    """
    import tempfile

    from pin_assets.core.convert import parse_document
    from pin_assets.core.document import ConversionError
    from pin_assets.core.isolation import TaskFailure, run_isolated
    from pin_assets.core.limits import DocumentLimits
    from pin_assets.core.sources.detect import detect_kind

    limits = DocumentLimits(timeout_s=float(sys.argv[1]) if len(sys.argv) > 1 else 5.0, max_pages=1000)
    with tempfile.TemporaryDirectory() as tmp:
        secret = Path(tmp) / "secret.txt"
        secret.write_text(SECRET_MARKER)
        warm_up = HostileCase("warm-up.md", b"# Warm up\n\nA first document that starts the pool.\n", None)
        cases = [warm_up, *hostile_cases("http://127.0.0.1:9", secret)]
        print(f"limits: {limits}\n| input | outcome | seconds to verdict |\n|---|---|---|")
        kinds: dict[str, str] = {}
        for case in cases:
            started = time.perf_counter()
            try:
                kinds[case.name] = detect_kind(case.data, case.name)
            except ConversionError as exc:
                print(f"| {case.name} | quarantined at ingest ({exc.reason}) | {time.perf_counter() - started:.3f} |")
        last = time.perf_counter()
        for case, result in run_isolated(
            parse_document, [c for c in cases if c.name in kinds],
            args_of=lambda c: (c.data, kinds[c.name], limits, None), workers=1, timeout_s=limits.timeout_s,
            memory_mb=limits.memory_mb, max_image_pixels=limits.max_image_pixels,
        ):
            now = time.perf_counter()
            if isinstance(result, TaskFailure):
                outcome = f"quarantined ({result.reason}: {result.message[:90]})"
            else:
                outcome = f"converted ({len(result.markdown)} chars, {result.page_count} pages)"
            print(f"| {case.name} | {outcome.replace('|', '/')} | {now - last:.3f} |")
            last = now


if __name__ == "__main__":
    _main()
