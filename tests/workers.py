"""Module-level task functions for isolation tests: worker processes import them by name."""

from __future__ import annotations

import os
import signal
import time

from pin_assets.core.document import ConversionError


class _Unpicklable(Exception):
    """An exception holding something pickle refuses, like MuPDF's SWIG pointers."""

    def __init__(self, message: str):
        super().__init__(message)
        self.handle = lambda: None


def behave(kind: str) -> str:
    if kind == "ok":
        return "done"
    if kind == "sleep":
        time.sleep(60)
    if kind == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "refuse":
        raise ConversionError("encrypted", "needs a password")
    if kind == "memory":
        bytearray(8 * 2**30)
    if kind == "mupdf":  # a soft mask whose size differs from its image, as real PDFs hold them
        import pymupdf

        image = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 4, 4), False)
        mask = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 8, 8), False)
        pymupdf.Pixmap(image, mask)
    if kind == "unpicklable":
        raise _Unpicklable("native handle \udcb1 in the message")
    raise ValueError(f"bad input {kind}")
