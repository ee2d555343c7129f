"""Which file of an e-print is the paper, and which files it pulls in, decided as arXiv's AutoTeX decides.

arXiv compiles the *top-level* TeX files of a submission: those that start a document (``\\documentclass``,
or ``\\documentstyle`` for LaTeX 2.09) and that no other file ``\\input``s; an ``00README`` (the JSON or
YAML of today's arXiv, or the old ``00README.XXX`` lines ``main.tex toplevelfile``) may name it outright.
When several files qualify, authors are told to call the main one ``main.tex`` or ``ms.tex``; this module
prefers those names (and ``paper``, ``article``, ``manuscript``, the e-print's own name), then a file that
really begins a document body, then the one that pulls in the most source.

:func:`inclusions` follows ``\\input``, ``\\include``, ``\\subfile``, ``\\import``/``\\subimport`` and
``\\InputIfFileExists`` the way TeX resolves them (relative to the main file's folder, ``.tex`` added when
the name has no extension); :func:`flatten` inlines them for the pandoc fallback, which runs sandboxed and
cannot read files itself. A reference that leaves the e-print's folder is never followed: it is reported.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from pin_assets.core.document import ConversionError
from pin_assets.core.latex.archive import TEX_SUFFIXES, safe_relative_path

PREFERRED_STEMS = ("main", "ms", "paper", "article", "manuscript", "arxiv", "root")
MAX_DEPTH = 20
MAX_WALK = 1000  # files followed from one main file: an e-print holds at most 10,000 (archive.MAX_FILES)
_COMMENT = re.compile(r"(?<!\\)%[^\n]*")
_DOCUMENT_START = re.compile(r"^[ \t]*\\document(?:class|style)\b", re.M)
_BEGIN_DOCUMENT = re.compile(r"\\begin\s*\{document\}")
_BIBLIOGRAPHY = re.compile(r"\\bibliography\s*\{[^{}]*\}")
# \input{x} \input x \include{x} \subfile{x} \InputIfFileExists{x} \import{dir}{x} \subimport*{dir}{x}
INCLUDE = re.compile(
    r"\\(?:(?P<imp>(?:sub)?(?:import|inputfrom|includefrom))\*?\s*\{(?P<dir>[^{}]*)\}"
    r"|(?P<cmd>input|include|subfile|InputIfFileExists)(?![A-Za-z@]))"
    r"(?:\s*\{(?P<braced>[^{}]*)\}|[ \t]+(?P<bare>[^\s{}\\%]+))"
)


@dataclass(frozen=True)
class Inclusion:
    """One ``\\input``-like reference: where it is, what it names, and what it resolved to (or why not)."""

    source: str
    command: str
    target: str
    resolved: str | None
    problem: str | None = None


@dataclass
class MainFile:
    """The main file, why it was chosen, and the TeX files it reaches."""

    path: str
    reason: str
    candidates: list[str] = field(default_factory=list)
    inclusions: list[Inclusion] = field(default_factory=list)


def tex_text(data: bytes) -> str:
    """TeX source as text: UTF-8 where it decodes, else Latin-1 (old submissions), which never fails."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def strip_comments(text: str) -> str:
    return _COMMENT.sub("", text)


def find_main_file(files: Mapping[str, bytes], stem: str = "") -> MainFile:
    """The e-print's main TeX file; ``ConversionError("unsupported")`` when it holds no TeX file at all."""
    tex = sorted(path for path in files if PurePosixPath(path).suffix.lower() in TEX_SUFFIXES)
    if not tex:
        listed = ", ".join(sorted(files)[:8])
        raise ConversionError("unsupported", f"the e-print holds no TeX file (files: {listed})")
    texts = {path: strip_comments(tex_text(files[path])) for path in tex}
    named = _readme_toplevel(files, tex)
    if named:
        return _with_inclusions(MainFile(named, "named top-level in 00README", [named]), files, texts)
    starts = [path for path in tex if _DOCUMENT_START.search(texts[path])]
    pool = starts or [path for path in tex if _BEGIN_DOCUMENT.search(texts[path])] or tex
    included = {inc.resolved for path in pool for inc in _references(path, texts[path], files) if inc.resolved}
    top = [path for path in pool if path not in included] or pool
    ranked = sorted(top, key=lambda path: _rank(path, texts, files, stem))
    if len(ranked) == 1:
        reason = "the only file that starts a document" if starts else "the only TeX file"
    else:
        reason = f"preferred among {len(ranked)} top-level files (name, document body, size)"
    return _with_inclusions(MainFile(ranked[0], reason, ranked), files, texts)


def _rank(path: str, texts: Mapping[str, str], files: Mapping[str, bytes], stem: str) -> tuple:
    name = PurePosixPath(path).stem.lower()
    preferred = PREFERRED_STEMS + ((stem.lower(),) if stem else ())
    order = preferred.index(name) if name in preferred else len(preferred)
    body = 0 if _BEGIN_DOCUMENT.search(texts[path]) else 1
    reach = sum(len(files[p]) for p in _reach(path, texts, files))
    return (body, order, path.count("/"), -reach, path)


def _reach(path: str, texts: Mapping[str, str], files: Mapping[str, bytes]) -> list[str]:
    return _walk(path, texts, files)[0]


def _with_inclusions(main: MainFile, files: Mapping[str, bytes], texts: Mapping[str, str]) -> MainFile:
    main.inclusions += _walk(main.path, texts, files)[1]
    return main


def _walk(path: str, texts: Mapping[str, str], files: Mapping[str, bytes]) -> tuple[list[str], list[Inclusion]]:
    """The files reachable from ``path`` through ``\\input``-like references, breadth first (at most
    :data:`MAX_WALK`), and every reference met on the way, resolved or not, in that order."""
    seen: dict[str, None] = {}
    found: list[Inclusion] = []
    todo = deque([path])
    while todo and len(seen) < MAX_WALK:
        current = todo.popleft()
        if current in seen:
            continue
        seen[current] = None
        text = texts.get(current)
        if text is None:
            text = strip_comments(tex_text(files[current]))
        for inc in _references(current, text, files, posixpath.dirname(path)):
            found.append(inc)
            if inc.resolved:
                todo.append(inc.resolved)
    return list(seen), found


def inclusions(main: str, files: Mapping[str, bytes]) -> list[Inclusion]:
    """Every ``\\input``-like reference reachable from ``main``, resolved against ``files``."""
    return _with_inclusions(MainFile(main, ""), files, {}).inclusions


def _references(source: str, text: str, files: Mapping[str, bytes], base: str | None = None) -> list[Inclusion]:
    base = posixpath.dirname(source) if base is None else base
    return [_resolve(source, match, files, base) for match in INCLUDE.finditer(text)]


def _resolve(source: str, match: re.Match[str], files: Mapping[str, bytes], base: str) -> Inclusion:
    """TeX resolves names against the folder it runs in, the main file's (``base``); ``\\subimport`` against
    the including file's folder."""
    command = match.group("cmd") or match.group("imp")
    target = (match.group("braced") if match.group("braced") is not None else match.group("bare") or "").strip()
    folder = (match.group("dir") or "").strip()
    if command.startswith("sub") and command != "subfile":
        base = posixpath.dirname(source)
    name = posixpath.join(folder, target) if folder else target
    if not target:
        return Inclusion(source, command, target, None, "empty name")
    if name.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", name):
        return Inclusion(source, command, target, None, "an absolute path, outside the e-print's folder")
    joined = posixpath.normpath(posixpath.join(base, name))
    relative = safe_relative_path(joined)
    if relative is None or joined.startswith(".."):
        return Inclusion(source, command, target, None, "a path that leaves the e-print's folder")
    for candidate in (f"{relative}.tex", relative) if PurePosixPath(relative).suffix == "" else (relative,
                                                                                                  f"{relative}.tex"):
        if candidate in files:
            return Inclusion(source, command, target, candidate)
    return Inclusion(source, command, target, None, "no such file in the e-print")


def _readme_toplevel(files: Mapping[str, bytes], tex: list[str]) -> str | None:
    """The top-level file an ``00README`` names: JSON/YAML ``sources: [{filename, usage: toplevel}]`` or the
    old ``00README.XXX`` line ``FILE toplevelfile``."""
    for name in ("00README.json", "00README.yaml", "00README.yml", "00README", "00README.XXX"):
        data = files.get(name)
        if data is None:
            continue
        text = tex_text(data)
        found: list[str] = []
        if name.endswith(".json"):
            try:
                sources = json.loads(text).get("sources") or []
            except (ValueError, AttributeError):
                sources = []
            found = [s.get("filename", "") for s in sources if isinstance(s, dict) and s.get("usage") == "toplevel"]
        elif name.endswith((".yaml", ".yml")):
            found = re.findall(r"filename:\s*['\"]?([^'\"\n]+?)['\"]?\s*\n\s*usage:\s*toplevel", text)
        else:
            found = [m.group(1) for m in re.finditer(r"^\s*(\S+)\s+toplevelfile\b", text, re.M)]
        for candidate in found:
            path = safe_relative_path(candidate.strip())
            if path in tex:
                return path
    return None


def flatten(main: str, files: Mapping[str, bytes], warnings: list[str]) -> str:
    """The main file's text with every ``\\input``-like reference replaced by the file it names (once per
    chain, at most :data:`MAX_DEPTH` deep); a reference that cannot or must not be followed becomes a comment
    and a warning."""

    def expand(path: str, chain: tuple[str, ...]) -> str:
        text = strip_comments(tex_text(files[path]))

        def replace(match: re.Match[str]) -> str:
            inc = _resolve(path, match, files, posixpath.dirname(main))
            if inc.resolved is None:
                warnings.append(f"\\{inc.command}{{{inc.target}}} in {path} not read: {inc.problem}")
                return f"% \\{inc.command}{{{inc.target}}} not read: {inc.problem}\n"
            if inc.resolved in chain or len(chain) >= MAX_DEPTH:
                warnings.append(f"\\{inc.command}{{{inc.target}}} in {path} not read: it includes itself")
                return ""
            body = expand(inc.resolved, (*chain, inc.resolved))
            return f"\n\\clearpage\n{body}\n\\clearpage\n" if inc.command == "include" else f"{body}\n"

        return _BIBLIOGRAPHY.sub(bibliography, INCLUDE.sub(replace, text))

    def bibliography(match: re.Match[str]) -> str:
        """``\\bibliography{...}`` reads ``<main>.bbl``, which arXiv e-prints carry (BibTeX's output)."""
        bbl = str(PurePosixPath(main).with_suffix(".bbl"))
        return strip_comments(tex_text(files[bbl])) if bbl in files else match.group(0)

    return expand(main, (main,))


_DEFINITION = re.compile(r"\\(?:(?:re|provide)?newcommand|DeclareMathOperator|newtheorem|theoremstyle|title|author|"
                         r"date|def|edef|gdef|let|newenvironment|renewenvironment)(?![A-Za-z@])\*?")


def simple_preamble(tex: str) -> str:
    """``tex`` (flattened) with its preamble reduced to what a LaTeX reader without TeX's machinery can use:
    ``\\documentclass{article}``, the macro, operator and theorem definitions, the title, authors and date. A
    2009 preamble that tests ``\\ifx\\documentclass\\undefined`` or loads a journal class's internals stops
    pandoc at its first line; its body, with the authors' macros, converts."""
    start = _BEGIN_DOCUMENT.search(tex)
    if start is None:
        return tex
    preamble, body = tex[: start.start()], tex[start.start() :]
    kept = ["\\documentclass{article}", "\\usepackage{amsmath,amssymb,amsthm,graphicx}"]
    for match in _DEFINITION.finditer(preamble):
        end = _arguments_end(preamble, match.end(), match.group(0))
        kept.append(preamble[match.start() : end])
    return "\n".join(kept) + "\n" + body


def _arguments_end(text: str, position: int, command: str) -> int:
    """Where the arguments of ``command`` (starting at ``position``) end: a ``\\def``'s name and parameter text
    and its body, a ``\\let``'s two tokens, or any run of ``[...]`` and ``{...}`` groups."""
    if command.startswith("\\let"):
        found = re.match(r"\s*\\[A-Za-z@]+\s*=?\s*(\\[A-Za-z@]+|.)", text[position:])
        return position + found.end() if found else position
    if command.lstrip("\\").rstrip("*") in ("def", "edef", "gdef"):
        found = re.match(r"\s*\\[A-Za-z@]+[^{]*", text[position:])
        position += found.end() if found else 0
    while True:
        rest = re.match(r"\s*", text[position:])
        cursor = position + rest.end()
        if cursor >= len(text) or text[cursor] not in "[{":
            return position
        position = group_end(text, cursor)


def group_end(text: str, start: int) -> int:
    """The index after the group (``{...}`` or ``[...]``) that opens at ``text[start]``, nested groups of the
    same kind and escaped characters skipped; the end of ``text`` when it never closes."""
    opening = text[start]
    closing = "]" if opening == "[" else "}"
    depth, index = 0, start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return len(text)
