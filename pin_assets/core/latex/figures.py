"""An e-print's figure files, found as LaTeX finds them and converted to web images.

``\\includegraphics{plot}`` names a file without its extension, relative to the main file's folder or to a
``\\graphicspath`` entry; pdfLaTeX then tries ``.pdf``, ``.png``, ``.jpg`` and the like, LaTeX with dvips
``.eps``. LaTeXML records the file it found (``candidates``), pandoc only the name as written, so both go
through :meth:`FigureFiles.find`. Each found file becomes a PNG (or stays the PNG, JPEG or GIF it is):

* PDF: its first page rendered by PyMuPDF at :data:`FIGURE_DPI` (vector figures stay sharp);
* EPS/PS: rendered by Ghostscript (``-dSAFER -dEPSCrop``), sized from the ``%%BoundingBox``;
* SVG (LaTeXML's rendering of ``picture`` and TikZ drawings, or an SVG file): rendered by PyMuPDF;
* TIFF, BMP and other raster formats: re-encoded by Pillow (see ``load_web_image``).

A figure that cannot be found or converted is left out with a warning and counted (``images_skipped``);
the document goes on. Rendering sizes respect ``max_image_pixels``.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from pin_assets.core.content_images import figure_zoom
from pin_assets.core.latex.archive import safe_relative_path
from pin_assets.core.latex.engines import ToolMissing, hung, run_ghostscript

FIGURE_DPI = 150
GRAPHIC_EXTENSIONS = (".pdf", ".png", ".jpg", ".jpeg", ".eps", ".ps", ".gif", ".svg", ".tif", ".tiff", ".bmp",
                      ".webp", ".jp2", ".eps.gz")
WEB_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
_BOUNDING_BOX = re.compile(rb"%%(?:HiRes)?BoundingBox:\s*(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)")
_GRAPHICSPATH = re.compile(r"\\graphicspath\s*\{((?:\s*\{[^{}]*\})+)\s*\}")


class FigureFiles:
    """The e-print's graphics, looked up by the names a converter saw and converted once each."""

    def __init__(self, files: Mapping[str, bytes], base: str, scratch: Path, *, graphicspath: list[str],
                 timeout_s: float, memory_mb: int, max_pixels: int | None):
        self.files = files
        self.base = base
        self.scratch = scratch
        self.graphicspath = graphicspath
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.max_pixels = max_pixels
        self.warnings: list[str] = []
        self._converted: dict[str, bytes | None] = {}
        self._lower = {path.lower(): path for path in files}

    def find(self, names: list[str]) -> str | None:
        """The e-print file for the first name that resolves: as given, then under each graphics path, each
        with the extensions LaTeX would try; names that leave the e-print's folder never resolve."""
        for name in names:
            name = name.strip().strip('"')
            if not name:
                continue
            for folder in ["", *self.graphicspath]:
                joined = posixpath.normpath(posixpath.join(self.base, folder, name))
                relative = safe_relative_path(joined)
                if relative is None or joined.startswith(".."):
                    continue
                found = self._with_extension(relative)
                if found:
                    return found
        return None

    def _with_extension(self, relative: str) -> str | None:
        tries = [relative] + [relative + ext for ext in GRAPHIC_EXTENSIONS]
        for candidate in tries:
            if candidate in self.files:
                return candidate
        for candidate in tries:  # case differences: made on macOS, compiled on Linux
            found = self._lower.get(candidate.lower())
            if found:
                return found
        return None

    def image_bytes(self, path: str) -> bytes | None:
        """A web image (PNG, JPEG or GIF) for the e-print file ``path``; ``None`` with a warning when the
        file cannot be converted."""
        if path not in self._converted:
            try:
                self._converted[path] = self._convert(path)
            except ToolMissing as exc:
                self.warnings.append(f"figure {path!r} not converted: {exc}")
                self._converted[path] = None
        return self._converted[path]

    def svg_image(self, svg: bytes, where: str) -> bytes | None:
        """An inline SVG drawing (LaTeXML's ``picture``/TikZ output) as a PNG."""
        return self._render_with_mupdf(svg, "svg", where)

    def _convert(self, path: str) -> bytes | None:
        data = self.files[path]
        suffix = "".join(PurePosixPath(path.lower()).suffixes[-2:]) if path.lower().endswith(".eps.gz") else \
            PurePosixPath(path.lower()).suffix
        if data.startswith(WEB_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
            return data
        if data.startswith(b"%PDF") or suffix == ".pdf":
            return self._render_with_mupdf(data, "pdf", path)
        if data[:4] == b"\xc5\xd0\xd3\xc6" or data.startswith(b"%!") or suffix in (".eps", ".ps", ".eps.gz"):
            return self._render_postscript(data, path)
        if data.lstrip()[:5] in (b"<?xml", b"<svg ") or suffix == ".svg":
            return self._render_with_mupdf(data, "svg", path)
        return data  # other raster formats: load_web_image re-encodes what Pillow reads, refuses the rest

    def _render_with_mupdf(self, data: bytes, filetype: str, where: str) -> bytes | None:
        import pymupdf

        try:
            with pymupdf.open(stream=data, filetype=filetype) as doc:
                if doc.page_count < 1:
                    raise ValueError("no page")
                page = doc[0]
                zoom = self._zoom(page.rect.width, page.rect.height)
                pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
                return pixmap.tobytes("png")
        except Exception as exc:  # MuPDF raises its own FzError classes, which are not RuntimeErrors
            self.warnings.append(f"figure {where!r} not converted: {type(exc).__name__}: {str(exc)[:200]}")
            return None

    def _zoom(self, width_pt: float, height_pt: float) -> float:
        """Scale from points to pixels: :data:`FIGURE_DPI`, less where the longer side or the pixel count
        would pass :data:`~pin_assets.core.content_images.MAX_FIGURE_SIDE` or ``max_image_pixels``."""
        width_pt, height_pt = max(width_pt, 1.0), max(height_pt, 1.0)
        zoom = figure_zoom(width_pt, height_pt, FIGURE_DPI)
        if self.max_pixels:
            zoom = min(zoom, math.sqrt(self.max_pixels / (width_pt * height_pt)))
        return max(zoom, 0.01)

    def _render_postscript(self, data: bytes, path: str) -> bytes | None:
        if path.lower().endswith(".gz"):
            import gzip

            try:
                data = gzip.decompress(data[: 64 * 2**20])
            except (OSError, EOFError) as exc:
                self.warnings.append(f"figure {path!r} not converted: {exc}")
                return None
        box = _BOUNDING_BOX.search(data[:65536]) or _BOUNDING_BOX.search(data[-65536:])
        width, height = (float(box.group(3)) - float(box.group(1)), float(box.group(4)) - float(box.group(2))) \
            if box else (612.0, 792.0)
        dpi = max(10, int(self._zoom(width, height) * 72))
        self.scratch.mkdir(parents=True, exist_ok=True)
        source, target = self.scratch / "figure.eps", self.scratch / "figure.png"
        source.write_bytes(data)
        target.unlink(missing_ok=True)
        run = run_ghostscript(
            ["-sDEVICE=png16m", f"-r{dpi}", "-dEPSCrop", "-dTextAlphaBits=4", "-dGraphicsAlphaBits=4",
             "-dFirstPage=1", "-dLastPage=1", f"-sOutputFile={target.name}", source.name],
            self.scratch, timeout_s=self.timeout_s, memory_mb=self.memory_mb,
        )
        if run.timed_out:  # a hung Ghostscript: quarantine rather than a record that depends on the load
            raise hung(f"Ghostscript on the figure {path!r}", self.timeout_s)
        if not run.ok or not target.is_file():
            self.warnings.append(f"figure {path!r} not converted: Ghostscript exit {run.returncode}: "
                                 f"{run.stderr[-200:]}")
            return None
        return target.read_bytes()


def graphics_paths(tex: str) -> list[str]:
    """The folders of every ``\\graphicspath{{a/}{b/}}`` in the (comment-free) source, in order."""
    found: list[str] = []
    for match in _GRAPHICSPATH.finditer(tex):
        found += [part.strip() for part in re.findall(r"\{([^{}]*)\}", match.group(1)) if part.strip()]
    return list(dict.fromkeys(found))
