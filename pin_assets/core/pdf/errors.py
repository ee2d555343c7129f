"""The exceptions a PDF can make PyMuPDF raise, named in one place.

MuPDF raises its own classes (``pymupdf.mupdf.FzErrorBase`` and subclasses such as ``FzErrorFormat`` for a
cycle in the page tree or ``FzErrorArgument`` for a soft mask that does not fit its image), which are not
``RuntimeError``; PyMuPDF's Python layer adds ``RuntimeError`` (``FileDataError`` is one) and ``ValueError``
for bad xrefs and arguments built from broken objects. The converter and the renderer catch
:data:`PDF_ERRORS` around the smallest unit that can fail (one image, one page), and
:func:`mupdf_reason` is what the worker pool uses to name the quarantine reason of whatever still escapes.
"""

from __future__ import annotations

import pymupdf

from pin_assets.core.text import clean_text

PDF_ERRORS: tuple[type[Exception], ...] = (pymupdf.mupdf.FzErrorBase, RuntimeError, ValueError)
_MESSAGE_CHARS = 300


def mupdf_reason(exc: BaseException) -> str | None:
    """The quarantine reason of a MuPDF exception, or None for an exception that is not MuPDF's."""
    if isinstance(exc, pymupdf.mupdf.FzErrorLimit):
        return "limit"
    if isinstance(exc, pymupdf.mupdf.FzErrorUnsupported):
        return "unsupported"
    if isinstance(exc, pymupdf.mupdf.FzErrorBase | pymupdf.FileDataError):
        return "corrupt"
    return None


def describe(exc: BaseException) -> str:
    """One short line for a warning: the class and MuPDF's message, valid UTF-8 (MuPDF passes bytes of
    the file through, which Python decodes with lone surrogates)."""
    text = " ".join(str(exc).split()) or repr(exc)
    return clean_text(f"{type(exc).__name__}: {text}")[:_MESSAGE_CHARS]
