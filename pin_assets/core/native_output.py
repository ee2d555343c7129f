"""What native libraries print while a document is converted, kept with the document instead of the terminal.

MuPDF reports damaged objects and Tesseract its troubles ("Image too small to scale!!", "Line cannot be
recognized!!") by writing straight to file descriptors 1 and 2, below Python, so neither ``sys.stderr``
redirection nor logging settings reach them. A worker process therefore points both descriptors at a
scratch file for the length of one document, restores them after, and returns the lines as that
document's warnings (counted in the ``warning_count`` signal). MuPDF's own message store is read too, with
its printing switched off, so its warnings arrive once, whether or not it would have printed them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator

from pin_assets.core.text import clean_text

MAX_LINES = 50  # distinct lines kept per document; a page of Tesseract noise repeats a handful of messages
MAX_CHARS = 300
_PREFIXES = ("MuPDF error: ", "MuPDF warning: ")

try:
    _LIBC = ctypes.CDLL(None)
except OSError:  # no C library to flush: Python's own buffers are still flushed
    _LIBC = None


def _flush_all() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if _LIBC is not None:
        _LIBC.fflush(None)  # C stdio buffers (printf from a library), before the descriptors change back


def _mupdf() -> object | None:
    """pymupdf's TOOLS when pymupdf is loaded in this process (never imported just to ask)."""
    module = sys.modules.get("pymupdf")
    return getattr(module, "TOOLS", None)


@contextlib.contextmanager
def captured_native_output() -> Iterator[list[str]]:
    """Send fds 1 and 2 to a scratch file while the block runs; the list it yields is filled on exit with the
    collapsed lines (``text (x12)`` for repeats), MuPDF's stored messages included."""
    lines: list[str] = []
    tools = _mupdf()
    if tools is not None:
        tools.mupdf_display_errors(False)
        tools.reset_mupdf_warnings()
    _flush_all()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as scratch:
        os.dup2(scratch.fileno(), 1)
        os.dup2(scratch.fileno(), 2)
        try:
            yield lines
        finally:
            _flush_all()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            scratch.seek(0)
            printed = scratch.read().decode("utf-8", "replace").splitlines()
            tools = _mupdf()  # the document may have been the first to load pymupdf
            stored = tools.mupdf_warnings().splitlines() if tools is not None else []
            if tools is not None:
                tools.mupdf_display_errors(False)
            lines += collapse(printed, stored)


def collapse(printed: list[str], stored: list[str]) -> list[str]:
    """Distinct non-blank lines in first-seen order, repeats counted (``text (x12)``); a MuPDF message both
    printed and stored (the first document of a worker loads pymupdf with printing still on) counts once."""
    counts: Counter[str] = Counter()
    store = [clean_text(line).strip() for line in stored]
    for message in filter(None, store):
        counts[f"MuPDF: {message}"[:MAX_CHARS]] += 1
    known = set(store)
    for raw in printed:
        line = clean_text(raw).strip()
        for prefix in _PREFIXES:
            if line.startswith(prefix):
                message = line.removeprefix(prefix)
                line = "" if message in known else f"MuPDF: {message}"
                break
        if line:
            counts[line[:MAX_CHARS]] += 1
    kept = [f"{line} (x{n})" if n > 1 else line for line, n in counts.items()][:MAX_LINES]
    if len(counts) > MAX_LINES:
        kept.append(f"... and {len(counts) - MAX_LINES} more distinct messages")
    return [f"native output: {line}" for line in kept]
