"""A second engine for PDFs MuPDF cannot read: poppler's ``pdftotext``.

MuPDF and poppler repair damaged files differently. A page whose content stream MuPDF gives up on (a zlib
error part way through, a broken cross-reference table) often still yields its text to poppler, and a
file MuPDF cannot open at all sometimes opens there. Before such a document is quarantined, or such a
page left empty, its text is taken from ``pdftotext`` (Debian's ``poppler-utils``, already installed for
pdf2image): plain paragraphs, no images or styles, with a warning on the document and the pages counted
in ``metadata["fallback_pages"]`` (the ``fallback_page_count`` signal).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from pin_assets.core.document import FALLBACK_PAGES, ConversionError
from pin_assets.core.pdf.inline import escape_start, escape_text
from pin_assets.core.text import clean_text

__all__ = ["ENGINE", "FALLBACK_PAGES", "page_markdown", "poppler_pages"]
ENGINE = "poppler's pdftotext"
_GUARD_S = 300  # pdftotext on a page is milliseconds; this only stops a hung process holding a worker


def poppler_pages(data: bytes, count: int | None = None) -> list[str] | None:
    """Plain text of each page (at most ``count``) as poppler reads it, or None when ``pdftotext`` is not
    installed, fails, or reads no page at all.

    A ``pdftotext`` that runs past its guard is hung: the document is quarantined (``timeout``) rather than
    converted without poppler's pages, so a slow machine never makes a different record.
    """
    binary = shutil.which("pdftotext")
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(prefix="pin-poppler-") as tmp:
        path = Path(tmp) / "in.pdf"
        path.write_bytes(data)
        command = [binary, "-q", "-enc", "UTF-8", "-eol", "unix"]
        if count is not None:
            command += ["-f", "1", "-l", str(count)]
        try:
            done = subprocess.run([*command, str(path), "-"], capture_output=True, timeout=_GUARD_S, check=False)
        except OSError:
            return None
        except subprocess.TimeoutExpired as exc:
            raise ConversionError("timeout", f"{ENGINE} ran past {_GUARD_S} s on this PDF; it is hung") from exc
    pages = clean_text(done.stdout.decode("utf-8", errors="replace")).split("\f")
    if pages and not pages[-1].strip():
        pages = pages[:-1]  # pdftotext ends every page, the last one too, with a form feed
    return pages if any(page.strip() for page in pages) else None


def page_markdown(text: str) -> str:
    """Paragraphs of one page of ``pdftotext`` output: lines joined (a line-end hyphen before a small
    letter joins the word), blank lines and form feeds kept as paragraph breaks, Markdown syntax escaped."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [" ".join(line.split()) for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        joined = lines[0]
        for line in lines[1:]:
            if re.search(r"\w-$", joined) and line[:1].islower():
                joined = joined[:-1] + line
            else:
                joined += " " + line
        paragraphs.append(escape_start(escape_text(joined)))
    return "\n\n".join(paragraphs)
