"""One arXiv e-print to Markdown: LaTeXML first, pandoc when LaTeXML cannot, the paper's PDF last.

The e-print is read (:mod:`.archive`), its main file found (:mod:`.mainfile`) and its files written under a
private scratch folder. Then, in order, until one gives a document with content:

1. **LaTeXML** (the converter behind arXiv's HTML papers), within the document's work budget
   (``latex_work_budget``) and a share of its time and memory limits (:mod:`.engines`);
2. **pandoc** on the flattened source, sandboxed (with its macro expansion, then without it, which is what
   stops pandoc on a looping macro);
3. the **PDF path**, when the paper's PDF came with the e-print (``paired_pdf``): its text without exact math.

The record says which one made it (``ori_meta.converter``: ``latexml``, ``pandoc`` or ``pdf``) and, for a
fallback, why (``latex_fallback_reason``); the ``latex_fallback`` signal is 1 for either fallback. What was
refused on the way (an ``\\input`` naming a file outside the e-print, archive members outside its folder)
is listed in ``latex_refused``; figures that could not be converted in ``missing_images``; packages LaTeXML
could neither emulate nor read in ``latexml_missing_packages`` (the document converts without them).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pin_assets.core.document import IMAGES_SKIPPED, LATEX_FALLBACK, ConversionError, ParsedDocument, has_content
from pin_assets.core.latex.archive import EprintFiles, eprint_stem, read_eprint
from pin_assets.core.latex.engines import ToolMissing, ToolRun, hung, read_log, run_latexml, run_pandoc
from pin_assets.core.latex.figures import FigureFiles, graphics_paths
from pin_assets.core.latex.mainfile import MainFile, find_main_file, flatten, simple_preamble
from pin_assets.core.latex.markdown import latexml_markdown, pandoc_markdown
from pin_assets.core.limits import DocumentLimits

if TYPE_CHECKING:
    from pin_assets.core.kinds import ConvertJob

CONVERTER = "converter"
ENGINES = ("latexml", "pandoc")
LATEXML_SHARE = 0.6  # of doc_timeout_s: the hang guard under the work budget, which decides the fallback
PANDOC_SHARE = 0.15
FIGURE_TIMEOUT_S = 30.0
_STEPS = re.compile(r"PIN work steps: (\d+)")
_SUMMARY = re.compile(r"^(?:Conversion|Post-processing) complete: (.*)$", re.M)
_REFUSED = re.compile(r"Refused to read '([^']*)'")
_SEE_LOG = re.compile(r"\s*\(See [^)]*\)")
_FATAL = re.compile(r"^Fatal:(\S+) (.*)$", re.M)
_MISSING_FILES = re.compile(r"\d+ missing files?\[([^\]]*)\]")


class LatexFailed(Exception):
    """One converter could not make a document of the e-print; the message says why, for the record."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason  # the quarantine reason if nothing after this converter succeeds


@dataclass
class _Attempt:
    """Everything a converter needs: the files on disk, the main file, the figures, the limits."""

    eprint: EprintFiles
    main: MainFile
    source: Path
    out: Path
    figures: FigureFiles
    limits: DocumentLimits
    warnings: list[str]
    refused: list[str]


def convert_eprint(data: bytes, job: ConvertJob) -> ParsedDocument:
    """The ``arxiv`` kind's converter: the e-print, with its paired PDF (if any) as the last fallback."""
    return eprint_to_markdown(data, limits=job.limits, paired_pdf=job.paired)


def eprint_to_markdown(
    data: bytes, *, limits: DocumentLimits, name: str | None = None, paired_pdf: bytes | None = None,
    engines: tuple[str, ...] = ENGINES,
) -> ParsedDocument:
    """Markdown, images and metadata of the e-print stored as ``data`` (see the module's docstring).

    ``engines`` are the LaTeX converters tried, in order (``latexml``, ``pandoc``); the PDF path comes last
    whenever ``paired_pdf`` is given.

    Raises ``ConversionError``: from the archive (``unsafe``, ``corrupt``, ``empty``), ``unsupported`` when
    it holds no TeX, and when every converter failed the reason of the first (``limit`` when LaTeXML ran
    out of its work budget or time) with every converter's message.
    """
    eprint = read_eprint(data, name)
    main = find_main_file(eprint.files, eprint_stem(name or ""))
    warnings = [f"archive member skipped: {why}" for why in eprint.skipped]
    refused = [f"\\{i.command}{{{i.target}}} in {i.source}: {i.problem}" for i in main.inclusions
               if i.problem and i.problem != "no such file in the e-print"]
    with tempfile.TemporaryDirectory(prefix="pin-latex-") as scratch:
        attempt = _prepare(eprint, main, Path(scratch), limits, warnings, refused)
        failures: list[LatexFailed] = []
        parsed = None
        chosen = tuple(_ENGINES[engine] for engine in engines)
        for converter in chosen + ((_pdf(paired_pdf),) if paired_pdf else ()):
            try:
                parsed = converter(attempt)
                break
            except LatexFailed as exc:
                failures.append(exc)
                warnings.append(str(exc))
        if parsed is None:
            if not failures:
                raise ConversionError("unsupported", "no LaTeX converter was asked for and no PDF came with it")
            raise ConversionError(failures[0].reason, "; ".join(str(f) for f in failures))
    parsed.metadata.update(_metadata(eprint, main, failures, attempt.refused))
    missing = json.loads(parsed.metadata.get("missing_images") or "[]")
    if missing:  # named figures that could not be found or converted
        parsed.metadata[IMAGES_SKIPPED] = str(len(missing))
    parsed.warnings = warnings + parsed.warnings
    return parsed


def _prepare(eprint: EprintFiles, main: MainFile, scratch: Path, limits: DocumentLimits,
             warnings: list[str], refused: list[str]) -> _Attempt:
    source, out = scratch / "src", scratch / "out"
    for path, content in eprint.files.items():
        target = source / path  # every path is relative and inside (archive.safe_relative_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    out.mkdir()
    base = str(PurePosixPath(main.path).parent).removeprefix(".")
    flat_warnings: list[str] = []
    paths = graphics_paths(flatten(main.path, eprint.files, flat_warnings))
    figures = FigureFiles(eprint.files, base, scratch / "figures", graphicspath=paths,
                          timeout_s=min(FIGURE_TIMEOUT_S, limits.timeout_s / 4), memory_mb=limits.memory_mb,
                          max_pixels=limits.max_image_pixels)
    return _Attempt(eprint, main, source, out, figures, limits, warnings, refused)


def _latexml(attempt: _Attempt) -> ParsedDocument:
    limits = attempt.limits
    try:
        run = run_latexml(attempt.source, attempt.main.path, attempt.out, budget=limits.latex_work_budget,
                          timeout_s=LATEXML_SHARE * limits.timeout_s, memory_mb=limits.memory_mb,
                          source_date=attempt.eprint.mtime)
    except ToolMissing as exc:
        raise LatexFailed("unsupported", f"LaTeXML: {exc}") from exc
    log = read_log(attempt.out / "latexml.log")
    steps = _steps(run)
    _check_run("LaTeXML", run, log, limits, steps)
    html = attempt.out / "index.html"
    if not html.is_file():
        raise LatexFailed("corrupt", f"LaTeXML wrote no HTML (exit {run.returncode}): {_last_lines(log)}")
    parsed = latexml_markdown(html.read_bytes(), attempt.figures, max_image_pixels=limits.max_image_pixels)
    if not has_content(parsed.markdown):
        raise LatexFailed("empty", "LaTeXML's HTML holds no text")
    parsed.metadata[CONVERTER] = "latexml"
    parsed.metadata["latexml_work_steps"] = str(steps)
    summary = _SUMMARY.findall(log)
    if summary:
        parsed.metadata["latexml_summary"] = " | ".join(_SEE_LOG.sub("", s).strip() for s in summary)[:2000]
    missing = sorted({name.strip() for found in _MISSING_FILES.findall(log) for name in found.split(",")
                      if name.strip().endswith((".sty", ".cls"))})  # other names: files the fence refused
    if missing:  # packages with neither a LaTeXML binding nor a .sty in the TeX tree: their macros are left out
        parsed.metadata["latexml_missing_packages"] = json.dumps(missing[:100])
        parsed.warnings.append(f"LaTeXML found no {', '.join(missing[:10])}" + (" ..." if len(missing) > 10 else "")
                               + "; the document converted without them")
    attempt.refused += [f"LaTeXML refused to read {name!r}" for name in dict.fromkeys(_REFUSED.findall(log))]
    return parsed


def _check_run(tool: str, run: ToolRun, log: str, limits: DocumentLimits, steps: int) -> None:
    """``LatexFailed`` when a limit stopped the tool or it ended with a fatal error."""
    if "pin_work_budget" in log:
        raise LatexFailed("limit", f"{tool} used up its work budget of {limits.latex_work_budget:,} steps "
                                   "(latex_work_budget; an endless macro loop, or a paper too long for it)")
    if run.timed_out:
        raise hung(tool, LATEXML_SHARE * limits.timeout_s, f" after {steps} work steps" if steps else "")
    if run.killed:
        raise LatexFailed("limit", f"{tool} was killed (signal or exit {run.returncode}): over its memory limit "
                                   f"of {limits.memory_mb} MB (worker_memory_mb) or its CPU time")
    fatal = _FATAL.search(log)
    if run.returncode != 0:
        detail = f"{fatal.group(1)}: {fatal.group(2)[:300]}" if fatal else _last_lines(log or run.stderr)
        raise LatexFailed("corrupt", f"{tool} failed (exit {run.returncode}): {detail}")


def _steps(run: ToolRun) -> int:
    found = _STEPS.findall(run.stderr)
    return int(found[-1]) if found else 0


def _last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " / ".join(lines[-count:])[:500]


def _pandoc(attempt: _Attempt) -> ParsedDocument:
    """pandoc on the flattened source, with its macro expansion (user macros become their TeX); when that
    fails, on the body with the preamble's definitions only (pandoc stops at preamble machinery it cannot
    read), then without macro expansion (pandoc refuses a macro that expands into itself)."""
    limits = attempt.limits
    flat_warnings: list[str] = []
    tex = flatten(attempt.main.path, attempt.eprint.files, flat_warnings)
    cwd = (attempt.source / attempt.main.path).parent
    problems = []
    simple = simple_preamble(tex)
    for source, macros in ((tex, True), (simple, True), (simple, False)):
        try:
            run = run_pandoc(source, cwd, macros=macros, timeout_s=PANDOC_SHARE * limits.timeout_s / 3,
                             memory_mb=limits.memory_mb)
        except ToolMissing as exc:
            raise LatexFailed("unsupported", f"pandoc: {exc}") from exc
        if run.ok and run.stdout.strip():
            parsed = pandoc_markdown(run.stdout, attempt.figures, max_image_pixels=limits.max_image_pixels)
            if has_content(parsed.markdown):
                parsed.metadata[CONVERTER] = "pandoc"
                if source is simple:
                    parsed.warnings.append("pandoc read the body with the preamble's definitions only"
                                           + ("" if macros else ", without macro expansion"))
                parsed.warnings[:0] = flat_warnings
                return parsed
            problems.append("pandoc's HTML holds no text")
        else:
            if run.timed_out:
                raise hung("pandoc", PANDOC_SHARE * limits.timeout_s / 3)
            why = _last_lines(run.stderr, 2)
            how = "" if source is tex else " (definitions only" + ("" if macros else ", no macros") + ")"
            problems.append(f"pandoc{how} failed: {why}")
    raise LatexFailed("corrupt", "; ".join(problems))


def _pdf(paired_pdf: bytes) -> Callable[[_Attempt], ParsedDocument]:
    """The PDF path on the paper's own PDF: its text, tables and figures, but formulas only as glyphs."""

    def convert(attempt: _Attempt) -> ParsedDocument:
        from pin_assets.core.pdf import pdf_to_markdown

        limits = attempt.limits
        try:
            parsed = pdf_to_markdown(paired_pdf, max_pages=limits.max_pages, max_image_pixels=limits.max_image_pixels,
                                     truncate=False, ocr=limits.ocr)
        except ConversionError as exc:
            raise LatexFailed(exc.reason, f"the paper's PDF: {exc}") from exc
        parsed.metadata[CONVERTER] = "pdf"
        return parsed

    return convert


_ENGINES: dict[str, Callable[[_Attempt], ParsedDocument]] = {"latexml": _latexml, "pandoc": _pandoc}


def _metadata(eprint: EprintFiles, main: MainFile, failures: list[LatexFailed], refused: list[str]) -> dict:
    meta: dict[str, str] = {
        "latex_main_file": main.path,
        "latex_main_reason": main.reason,
        "latex_source_layout": eprint.layout,
        "latex_source_files": str(len(eprint.files)),
    }
    if failures:
        meta[LATEX_FALLBACK] = " ; ".join(str(f) for f in failures)[:2000]
    if refused:
        meta["latex_refused"] = json.dumps(list(dict.fromkeys(refused))[:100])
    return meta
