"""arXiv e-prints: the LaTeX path (LaTeXML, and pandoc, its fallback) against the PDF path on the same papers.

    python3 -m bench.latex [--runs N] [--out bench/RESULTS.md]

For each real e-print of the bench corpus (the test fixture arXiv 2405.16513 and ``bench/data/arxiv``; each a
source folder with its compiled PDF beside it; provenance in the corpus READMEs) it converts the source with
LaTeXML and with pandoc, and the PDF with the project's PDF converter and with pymupdf4llm (what a user
would otherwise run on an arXiv PDF), in the same run, and reports:

* papers per minute (wall clock; the CPU seconds of the process and its children beside it, since LaTeXML and
  pandoc run as child processes and the machine is shared);
* display equations kept as TeX: of the paper's display formulas (``$$...$$``, ``\\[...\\]``, ``equation``,
  ``align``...; its own macros expanded, with their arguments), how many appear in the Markdown, compared
  without spaces and grouping braces, in LaTeXML's spellings;
* text similarity to the LaTeXML Markdown: word-sequence similarity (difflib) of the prose, math, Markdown
  marks and image links removed;
* with the default limits, which converter the ``arxiv`` kind used (the share that falls back).
"""

from __future__ import annotations

import argparse
import difflib
import re
import resource
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = (REPO / "tests" / "fixtures" / "arxiv", REPO / "bench" / "data" / "arxiv")
HEADING = "arXiv e-prints: LaTeX path against PDF path (`python3 -m bench.latex`)"
_COMMENT = re.compile(r"(?<!\\)%[^\n]*")
_DISPLAY = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\begin\{(equation\*?|align\*?|gather\*?|multline\*?|eqnarray\*?)\}"
                      r"(.+?)\\end\{\3\}", re.S)
_NEWCOMMAND = re.compile(r"\\(?:re|provide)?newcommand\*?\s*\{?\s*(\\[A-Za-z]+)\s*\}?\s*(?:\[(\d)\])?\s*\{")
_DEF = re.compile(r"\\def\s*(\\[A-Za-z]+)\s*((?:#\d)*)\s*\{")
_CONTROL_WORD = re.compile(r"\\[A-Za-z]+")
_SUBSTACK = re.compile(r"\\substack\s*\{")
_SKIP = re.compile(r"\\(?:hskip|vskip|kern|hspace\*?)\s*\{?-?[\d.]+\s*(?:pt|cm|mm|em|ex|in)\}?|\\label\{[^{}]*\}|"
                   r"\\(?:nonumber|notag|displaystyle)\b|\\[,;:! ]|&|\\\\")


@dataclass
class Paper:
    name: str
    source: Path  # the unpacked e-print folder
    pdf: Path

    def tex(self) -> str:
        return "\n".join(p.read_text("utf-8", "replace") for p in sorted(self.source.rglob("*.tex")))


def papers() -> list[Paper]:
    found = []
    for root in CORPUS:
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            pdf = folder.with_name(folder.name + ".pdf")
            if pdf.is_file():
                found.append(Paper(folder.name, folder, pdf))
    return found


def display_formulas(tex: str) -> list[str]:
    """The display formulas of a LaTeX source, comments removed and its own macros (``\\newcommand`` and
    ``\\def``, with or without arguments) expanded, as LaTeXML writes them."""
    text = _COMMENT.sub("", tex)
    macros = macro_definitions(text)
    formulas = []
    for match in _DISPLAY.finditer(text):
        body = next(group for group in (match.group(1), match.group(2), match.group(4)) if group is not None)
        formulas.append(expand_macros(body, macros))
    return formulas


def macro_definitions(text: str) -> dict[str, tuple[int, str]]:
    """Each macro the source defines: its argument count and body."""
    found: dict[str, tuple[int, str]] = {}
    for match in _NEWCOMMAND.finditer(text):
        found[match.group(1)] = (int(match.group(2) or 0), _group(text, match.end() - 1)[0])
    for match in _DEF.finditer(text):
        found[match.group(1)] = (len(match.group(2)) // 2, _group(text, match.end() - 1)[0])
    return found


def expand_macros(tex: str, macros: dict[str, tuple[int, str]], passes: int = 4) -> str:
    """``tex`` with the macros expanded, arguments read as TeX reads them (a brace group or one token);
    ``passes`` rounds for macros whose bodies use macros."""
    for _ in range(passes):
        out, at, changed = [], 0, False
        for match in _CONTROL_WORD.finditer(tex):
            if match.start() < at or match.group(0) not in macros:
                continue
            count, body = macros[match.group(0)]
            end = match.end()
            for number in range(1, count + 1):
                while end < len(tex) and tex[end].isspace():
                    end += 1
                if end >= len(tex):
                    break
                if tex[end] == "{":
                    argument, end = _group(tex, end)
                else:
                    token = _CONTROL_WORD.match(tex, end)
                    argument, end = (token.group(0), token.end()) if token else (tex[end], end + 1)
                body = body.replace(f"#{number}", argument)
            out += [tex[at : match.start()], body]
            at, changed = end, True
        tex = "".join(out) + tex[at:]
        if not changed:
            break
    return tex


def _group(text: str, start: int) -> tuple[str, int]:
    """The content of the brace group opening at ``text[start]``, and the index after its closing brace."""
    from pin_assets.core.latex.mainfile import group_end

    end = group_end(text, start)
    return text[start + 1 : end - 1], end


_SYNONYMS = ((re.compile(r"\\ge(?![A-Za-z])"), r"\\geq"), (re.compile(r"\\le(?![A-Za-z])"), r"\\leq"),
             (re.compile(r"\\ne(?![A-Za-z])"), r"\\neq"),
             (re.compile(r"'+"), lambda m: "^" + "\\prime" * len(m.group(0))),
             (re.compile(r"[\^_]\{\s*\}"), ""),  # an empty script, which LaTeXML drops
             (re.compile(r"\\begin\{(array|tabular)\}\[\]"), r"\\begin{\1}"))  # LaTeXML's empty option


def squash_tex(tex: str) -> str:
    """TeX compared without what converters normalize: spacing commands, labels, alignment marks, braces, and
    the synonyms LaTeXML writes out (``\\ge`` as ``\\geq``, a prime ``'`` as ``^{\\prime}``, ``\\substack`` as a
    ``subarray``, no empty scripts or options)."""
    tex = _SKIP.sub("", tex)
    tex = _substacks(tex)
    for pattern, replacement in _SYNONYMS:
        tex = pattern.sub(replacement, tex)
    return re.sub(r"[\s{}]", "", tex).replace("^^", "^")


def _substacks(tex: str) -> str:
    """``\\substack{a \\\\ b}`` as LaTeXML writes it, ``\\begin{subarray}{c}a \\\\ b\\end{subarray}``."""
    out, at = [], 0
    for match in _SUBSTACK.finditer(tex):
        if match.start() < at:
            continue
        body, end = _group(tex, match.end() - 1)
        out += [tex[at : match.start()], "\\begin{subarray}{c}", _substacks(body), "\\end{subarray}"]
        at = end
    return "".join(out) + tex[at:]


def kept_formulas(formulas: list[str], markdown: str) -> int:
    squashed = squash_tex(markdown)
    return sum(1 for formula in formulas if squash_tex(formula) and squash_tex(formula) in squashed)


def prose_words(markdown: str) -> list[str]:
    """The words of a Markdown document without its math, image links, HTML tags (``<sup>``), tables' rules and
    Markdown marks."""
    text = re.sub(r"\$\$.+?\$\$|\$[^$\n]+\$", " ", markdown, flags=re.S)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)|</?[a-z][^>]*>|\[\^\d+\]:?", " ", text)  # HTML tags: <img>, <sup>
    text = re.sub(r"[#*_`|>\-]+", " ", text)
    return re.findall(r"[^\W\d_]{2,}", text.lower())


def similarity(a: list[str], b: list[str]) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() if a and b else 0.0


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _contenders(paper: Paper, limits):  # noqa: ANN001, ANN202 (DocumentLimits; a dict of callables)
    from pin_assets.core.latex.archive import pack_folder
    from pin_assets.core.latex.convert import eprint_to_markdown

    eprint = pack_folder(paper.source)
    pdf = paper.pdf.read_bytes()

    def latexml() -> str:
        return eprint_to_markdown(eprint, limits=limits, engines=("latexml",)).markdown

    def pandoc() -> str:
        return eprint_to_markdown(eprint, limits=limits, engines=("pandoc",)).markdown

    def pdf_path() -> str:
        from pin_assets.core.convert import parse_document

        return parse_document(pdf, "pdf", limits).markdown

    def pymupdf4llm() -> str:
        import pymupdf
        import pymupdf4llm as rival

        with pymupdf.open(stream=pdf, filetype="pdf") as doc:
            return rival.to_markdown(doc, show_progress=False)

    return {"LaTeX path: LaTeXML": latexml, "LaTeX path: pandoc (fallback)": pandoc,
            "PDF path (pin-factory)": pdf_path, "pymupdf4llm on the PDF": pymupdf4llm}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench.latex", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per contender and paper (median)")
    parser.add_argument("--out", type=Path, default=None, help="write the section into this RESULTS.md")
    args = parser.parse_args(argv)
    import os

    from pin_assets.core.limits import DocumentLimits

    limits = DocumentLimits(timeout_s=600)
    corpus = papers()
    load_before = os.getloadavg()
    totals: dict[str, dict[str, float]] = {}
    per_paper: list[str] = []
    failures: list[str] = []
    defaults: list[str] = []
    for paper in corpus:
        formulas = display_formulas(paper.tex())
        outputs: dict[str, str] = {}
        for name, convert in _contenders(paper, limits).items():
            walls, cpus = [], []
            total = totals.setdefault(name, {"wall": 0.0, "cpu": 0.0, "kept": 0, "formulas": 0, "similarity": 0.0,
                                             "failed": 0})
            for _ in range(args.runs):
                wall, cpu = time.perf_counter(), _cpu()
                try:
                    outputs[name] = convert()
                except Exception as exc:  # a contender that fails a paper scores nothing on it, and says so
                    outputs[name] = ""
                    failures.append(f"{name} failed on {paper.name}: {type(exc).__name__}: {str(exc)[:300]}")
                walls.append(time.perf_counter() - wall)
                cpus.append(_cpu() - cpu)
            total["failed"] += not outputs[name]
            total["wall"] += statistics.median(walls)
            total["cpu"] += statistics.median(cpus)
            total["kept"] += kept_formulas(formulas, outputs[name])
            total["formulas"] += len(formulas)
        reference = prose_words(outputs["LaTeX path: LaTeXML"])
        for name, markdown in outputs.items():
            totals[name]["similarity"] += similarity(reference, prose_words(markdown)) / len(corpus)
        converter, default = _default_converter(paper)
        defaults.append(converter)
        per_paper.append(f"{paper.name}: {len(formulas)} display formulas; with the default limits the `arxiv` kind "
                         f"used {default}")
    count = len(corpus)
    rows = ["| converter | papers/min (wall) | CPU s per paper | papers failed | display equations kept as TeX | "
            "prose similarity to LaTeXML |", "| --- | --- | --- | --- | --- | --- |"]
    for name, total in totals.items():
        rows.append(f"| {name} | {60 * count / total['wall']:.1f} | {total['cpu'] / count:.1f} | "
                    f"{int(total['failed'])} | {int(total['kept'])} of {int(total['formulas'])} | "
                    f"{total['similarity']:.3f} |")
    fell_back = sum(converter in ("pandoc", "pdf") for converter in defaults)
    per_paper += failures + [
        f"share that falls back with the default limits (latex_work_budget {DocumentLimits().latex_work_budget}, "
        f"doc_timeout_s {DocumentLimits().timeout_s:.0f}): {fell_back} of {count} e-prints to pandoc or the PDF; "
        f"{defaults.count('quarantined')} quarantined by the hang guard at this load "
        f"({', '.join(f'{c}: {defaults.count(c)}' for c in dict.fromkeys(defaults))})",
        "display equations kept as TeX: the paper's display formulas (its own macros expanded, with their "
        "arguments) found in the Markdown, compared without spaces, braces, labels and spacing commands, and with "
        "LaTeXML's spellings (\\geq for \\ge, ^{\\prime} for ', subarray for \\substack, no empty scripts)",
        "prose similarity: difflib ratio of the word sequences, math, image links, HTML tags and Markdown marks "
        "removed; CPU s counts the process and its children (LaTeXML and pandoc run as child processes)"]
    table = "\n".join(rows)
    load_after = os.getloadavg()
    intro = [f"{count} real arXiv e-prints with their PDFs ({', '.join(p.name for p in corpus)}), median of "
             f"{args.runs} runs, every contender in the same run; load average "
             f"{load_before[0]:.1f} before, {load_after[0]:.1f} after (a shared 2-core machine: wall times move with "
             "the load, CPU seconds much less)."]
    print("\n".join(intro) + "\n\n" + table + "\n\n" + "\n".join(f"- {line}" for line in per_paper))
    if args.out:
        from bench.report import write_section

        write_section(args.out, HEADING, intro, table, per_paper)


def _default_converter(paper: Paper) -> tuple[str, str]:
    """Which converter the kind picks under the default limits, and a line with LaTeXML's work steps or the
    reason it fell back."""
    from pin_assets.core.document import ConversionError
    from pin_assets.core.latex.archive import pack_folder
    from pin_assets.core.latex.convert import eprint_to_markdown
    from pin_assets.core.limits import DocumentLimits

    try:
        parsed = eprint_to_markdown(pack_folder(paper.source), limits=DocumentLimits(),
                                    paired_pdf=paper.pdf.read_bytes())
    except ConversionError as exc:  # LaTeXML hung past its share of doc_timeout_s on this machine
        return "quarantined", f"nothing: quarantined as {exc.reason} ({str(exc)[:120]})"
    meta = parsed.metadata
    steps = meta.get("latexml_work_steps")
    return meta["converter"], meta["converter"] + (
        f" ({steps} work steps of {DocumentLimits().latex_work_budget})" if steps else
        f" ({meta.get('latex_fallback_reason', '')[:120]})")


if __name__ == "__main__":
    main()
