"""An unpacked LaTeX source folder made into one e-print: the main file and the files it uses, packed.

A batch folder (or an S3 prefix) may hold e-prints unpacked: ``paper/main.tex`` beside ``paper/sections/*.tex``,
``paper/figures/*.pdf``, ``paper/main.bbl``. Each of those files would otherwise be a document of its own (a
figure PDF a one-page "paper", a section a text file). Ingest and ``pin convert`` instead ask
:func:`bundle_eprint` for every plain TeX main file: it follows what LaTeX would read, as LaTeX resolves it
(``\\input``/``\\include``/``\\subfile``/``\\import``, ``\\includegraphics`` with ``\\graphicspath`` and the
extensions pdfLaTeX tries, ``\\bibliography`` and the ``.bbl`` of the main file, local ``.cls``/``.sty``/
``.bst`` files, ``\\lstinputlisting``/``\\verbatiminput``), packs those files with it into one gzipped tar,
and names the files it used, which then stop being documents of their own. A name that would leave the
folder is never looked up.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from pathlib import PurePosixPath

from pin_assets.core.latex.archive import GZIP_MAGIC, ZIP_MAGIC, is_tar, pack_files, safe_relative_path
from pin_assets.core.latex.figures import GRAPHIC_EXTENSIONS, graphics_paths
from pin_assets.core.latex.mainfile import INCLUDE, strip_comments, tex_text

MAX_FILES = 2000
_GRAPHIC = re.compile(r"\\includegraphics\*?\s*(?:\[[^\]]*\]\s*)*\{([^{}]+)\}")
_LIST_ARGUMENT = {
    "bib": re.compile(r"\\(?:bibliography|addbibresource)\s*(?:\[[^\]]*\])?\s*\{([^{}]+)\}"),
    "bst": re.compile(r"\\bibliographystyle\s*\{([^{}]+)\}"),
    "sty": re.compile(r"\\(?:usepackage|RequirePackage)\s*(?:\[[^\]]*\]\s*)?\{([^{}]+)\}"),
    "cls": re.compile(r"\\document(?:class|style)\s*(?:\[[^\]]*\]\s*)?\{([^{}]+)\}"),
}
_VERBATIM_FILE = re.compile(r"\\(?:lstinputlisting|verbatiminput|inputminted)\s*(?:\[[^\]]*\]\s*)?(?:\{[^{}]*\}\s*)?"
                            r"\{([^{}]+)\}")
TEX_EXTENSIONS = (".tex", ".ltx", ".latex")


def bundle_eprint(relpath: str, data: bytes, read: Callable[[str], bytes | None]) -> tuple[bytes, list[str]]:
    """``data`` (the file at ``relpath``) with the files it uses, as a gzipped tar, and the relpaths it used.

    ``read(relpath)`` gives a file of the same source, or ``None`` when there is none. An archive is already
    an e-print and comes back as it is; so does a TeX file that uses no other file.
    """
    if data[:2] == GZIP_MAGIC or data[:4] == ZIP_MAGIC or is_tar(data):
        return data, []
    folder = posixpath.dirname(relpath)
    main = PurePosixPath(relpath).name
    files = {main: data}
    todo = [main]
    graphic_dirs: list[str] = []
    while todo and len(files) < MAX_FILES:
        current = todo.pop(0)
        text = strip_comments(tex_text(files[current]))
        graphic_dirs += [d for d in graphics_paths(text) if d not in graphic_dirs]
        for name in _wanted(current, main, text, graphic_dirs):
            if name in files:
                continue
            content = read(posixpath.join(folder, name)) if folder else read(name)
            if content is None:
                continue
            files[name] = content
            if name.lower().endswith(TEX_EXTENSIONS):
                todo.append(name)
    if len(files) == 1:
        return data, []
    used = [posixpath.join(folder, name) if folder else name for name in files if name != main]
    return pack_files(files), sorted(used)


def _wanted(current: str, main: str, text: str, graphic_dirs: list[str]) -> list[str]:
    """Every name (relative to the main file's folder) LaTeX might read for ``current``, in order."""
    names: list[str] = []
    for match in INCLUDE.finditer(text):
        target = (match.group("braced") if match.group("braced") is not None else match.group("bare") or "")
        directory = (match.group("dir") or "").strip()
        command = match.group("cmd") or match.group("imp") or ""
        base = posixpath.dirname(current) if command.startswith("sub") and command != "subfile" else ""
        stem = posixpath.join(base, directory, target.strip())
        names += [stem, stem + ".tex"]
    for match in _GRAPHIC.finditer(text):
        for directory in ["", *graphic_dirs]:
            stem = posixpath.join(directory, match.group(1).strip())
            names += [stem] + [stem + ext for ext in GRAPHIC_EXTENSIONS]
    for extension, pattern in _LIST_ARGUMENT.items():
        for match in pattern.finditer(text):
            names += [f"{part.strip()}" if part.strip().endswith("." + extension) else f"{part.strip()}.{extension}"
                      for part in match.group(1).split(",") if part.strip()]
    names += [m.group(1).strip() for m in _VERBATIM_FILE.finditer(text)]
    if current == main:
        names.append(str(PurePosixPath(main).with_suffix(".bbl")))
    safe = []
    for name in names:
        relative = safe_relative_path(name)
        if relative is not None and not posixpath.normpath(name).startswith(("..", "/")):
            safe.append(relative)
    return list(dict.fromkeys(safe))
