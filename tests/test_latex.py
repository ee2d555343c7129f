"""arXiv e-prints from their LaTeX source: archives and their guards, main-file detection, figures, LaTeXML's
output to Markdown with exact TeX, the fences around LaTeX (files, work, time), the fallbacks, and the
record of a real e-print (tests/fixtures/arxiv, provenance in its README) paired with its PDF.

LaTeXML takes seconds per paper, so only four tests run it: the real e-print, one small source exercising
the constructs and fences, the macro loop, and the asset graph; everything else is checked without it.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

import pymupdf
import pytest
from dagster import DagsterInstance

from bench.latex import display_formulas, squash_tex
from pin_assets.accounting import account_batch
from pin_assets.core import kinds
from pin_assets.core.convert_files import convert_file
from pin_assets.core.document import ConversionError
from pin_assets.core.latex import archive
from pin_assets.core.latex.archive import pack_files, read_eprint, sniff_eprint
from pin_assets.core.latex.bulk import arxiv_id
from pin_assets.core.latex.bundle import bundle_eprint
from pin_assets.core.latex.engines import ToolRun, run_tool
from pin_assets.core.latex.figures import FigureFiles
from pin_assets.core.latex.mainfile import find_main_file, flatten
from pin_assets.core.limits import DocumentLimits
from pin_assets.core.pdf_pages import RenderOptions
from pin_assets.core.sources.detect import detect_kind
from pin_assets.core.sources.triage import FileBytes, triage
from pin_assets.quarantine import read_quarantine
from resources import StorageResource
from tests.pipeline_support import read_records, run_batch

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "arxiv"
needs_latexml = pytest.mark.skipif(shutil.which("latexmlc") is None, reason="Debian package latexml not installed")
needs_pandoc = pytest.mark.skipif(shutil.which("pandoc") is None, reason="Debian package pandoc not installed")
needs_gs = pytest.mark.skipif(shutil.which("gs") is None, reason="Debian package ghostscript not installed")
PAPER = FIXTURE / "2405.16513"
OPTIONS = RenderOptions(dpi=40, fmt="png")

# A small source exercising what a paper holds: sections, a footnote, an align, a theorem and proof, lists
# with generated and chosen labels, a table with a caption, a figure, citations and a reference list, an
# undefined macro, a package that exists nowhere, and three attempts to read a file outside the e-print
# (written, climbing, built by macros).
SMALL = r"""\documentclass{article}
\usepackage{amsmath,amsthm,graphicx,pinnotapackage}
\newtheorem{lemma}{Lemma}
\title{Small Source}
\author{Ada Lovelace}
\begin{document}
\maketitle
\section{Start}
Energy is conserved\footnote{In closed systems.} as shown by \cite{noether}.
\begin{align}
  a &= b + c \\
  d &= \frac{e}{f}
\end{align}
\begin{lemma}[Bound] For all $x>0$ we have $x^2 \ge 0$. \end{lemma}
\begin{proof} Square it. \end{proof}
\begin{itemize}\item plain one \item plain two\end{itemize}
\begin{enumerate}\item[(i)] chosen label\end{enumerate}
\begin{table}\centering\begin{tabular}{lr}Name & Value\\ alpha & 1\end{tabular}\caption{Values}\end{table}
\begin{figure}\centering\includegraphics{dot}\caption{A dot}\end{figure}
\section{Fences}
Before \unknownmacro{kept words}. \input{SECRET_ABS} \input{../../../SECRET_REL}
\edef\p{SECRET_DIR}\input{\p/secret} After.
\begin{thebibliography}{9}\bibitem{noether} E. Noether, Invariante Variationsprobleme, 1918.\end{thebibliography}
\end{document}
"""


def _dot_png() -> bytes:
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 40, 30), 0)
    pixmap.set_rect(pixmap.irect, (20, 90, 200))
    return pixmap.tobytes("png")


def _tar_gz(files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buffer.getvalue()


# ---------------------------------------------------------------- archives, without LaTeXML


def test_every_stored_shape_reads_and_names_are_fenced() -> None:
    """gzipped tar, gzipped single file (with and without its name), tar, zip and plain TeX all read; in a
    tar a leading '/' is dropped as GNU tar does, while '..' names and links are skipped, never written."""
    tex = b"\\documentclass{article}\\begin{document}x\\end{document}"
    assert read_eprint(pack_files({"main.tex": tex, "fig/a.png": b"png"})).layout == "tar.gz"
    named = io.BytesIO()
    with gzip.GzipFile(filename="paper.tex", fileobj=named, mode="wb", mtime=1716422400) as handle:
        handle.write(tex)
    single = read_eprint(named.getvalue(), "2405.00001")
    assert (single.layout, list(single.files), single.mtime) == ("gz", ["paper.tex"], 1716422400)
    assert list(read_eprint(gzip.compress(tex), "2405.00002").files) == ["2405.00002.tex"]
    plain_tar = io.BytesIO()
    with tarfile.open(fileobj=plain_tar, mode="w") as tar:
        info = tarfile.TarInfo("ms.tex")
        info.size = len(tex)
        tar.addfile(info, io.BytesIO(tex))
    assert read_eprint(plain_tar.getvalue()).layout == "tar"
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as handle:
        handle.writestr("overleaf/main.tex", tex)
    assert list(read_eprint(zipped.getvalue()).files) == ["overleaf/main.tex"]
    assert read_eprint(tex, "notes.tex").files == {"notes.tex": tex}

    hostile = read_eprint(_tar_gz({"main.tex": tex, "../evil.tex": b"x", "/abs/inc.tex": b"y", "sub/../ok.tex": b"z"},
                                  {"link.tex": "/etc/passwd"}))
    assert sorted(hostile.files) == ["abs/inc.tex", "main.tex", "ok.tex"]
    assert any("evil" in why for why in hostile.skipped) and any("link.tex" in why for why in hostile.skipped)


def test_bombs_and_broken_archives_are_refused_with_their_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_UNPACKED_BYTES", 2**20)
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 2**20)
    zeros = b"\0" * (6 * 2**20)
    with pytest.raises(ConversionError) as gzip_bomb:
        read_eprint(gzip.compress(zeros))
    assert gzip_bomb.value.reason == "unsafe"
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("main.tex", zeros)
    with pytest.raises(ConversionError) as zip_bomb:
        read_eprint(zipped.getvalue())
    assert zip_bomb.value.reason == "unsafe"
    header = tarfile.TarInfo("huge.tex")
    header.size = 2**40  # declared, never present: refused before a byte of it is read
    with pytest.raises(ConversionError) as declared:
        read_eprint(gzip.compress(header.tobuf(tarfile.GNU_FORMAT) + b"\0" * 1024))
    assert declared.value.reason == "unsafe"
    good = pack_files({"main.tex": b"\\documentclass{article}" + b"%" * 50_000})
    with pytest.raises(ConversionError) as truncated:
        read_eprint(good[: len(good) // 2])
    assert truncated.value.reason == "corrupt"


def test_main_file_as_arxiv_chooses_it() -> None:
    article = b"\\documentclass{article}\n\\begin{document}\n\\input{sections/intro}\n\\end{document}\n"
    figure = b"\\documentclass{standalone}\\begin{document}x\\end{document}"
    files = {"paper.tex": article, "sections/intro.tex": b"Intro. \\input{../../etc/passwd}",
             "fig/diagram.tex": figure, "ms.tex": article}
    chosen = find_main_file(files)
    assert chosen.path == "ms.tex" and {"ms.tex", "paper.tex"} <= set(chosen.candidates)  # arXiv's advice: ms
    readme = {**files, "00README.json": json.dumps({"sources": [{"filename": "paper.tex", "usage": "toplevel"}]})
              .encode()}
    assert find_main_file(readme).path == "paper.tex"
    included = {"main.tex": b"\\documentclass{article}\\begin{document}\\input{fig/diagram}\\end{document}",
                "fig/diagram.tex": figure}
    assert find_main_file(included).path == "main.tex"  # a file another one \inputs is not top-level
    warnings: list[str] = []
    assert "Intro." in flatten("ms.tex", files, warnings) and "leaves the e-print" in warnings[0]
    with pytest.raises(ConversionError) as none:
        find_main_file({"figure.pdf": b"%PDF-1.4"})
    assert none.value.reason == "unsupported"


def test_an_unpacked_folder_bundles_what_latex_reads() -> None:
    folder = {"paper/main.tex": b"\\documentclass{article}\\graphicspath{{figs/}}\\begin{document}"
                                b"\\input{body}\\includegraphics{plot}\\bibliography{refs}\\end{document}",
              "paper/body.tex": b"Body \\includegraphics[width=2cm]{../outside}",
              "paper/figs/plot.pdf": b"%PDF-1.4 plot", "paper/main.bbl": b"\\begin{thebibliography}{1}",
              "paper/refs.bib": b"@article{x}", "paper/notes.txt": b"unrelated", "outside.png": b"nope"}
    bundled, used = bundle_eprint("paper/main.tex", folder["paper/main.tex"], folder.get)
    assert used == ["paper/body.tex", "paper/figs/plot.pdf", "paper/main.bbl", "paper/refs.bib"]
    assert sorted(read_eprint(bundled).files) == ["body.tex", "figs/plot.pdf", "main.bbl", "main.tex", "refs.bib"]
    archive_bytes = pack_files({"main.tex": b"x"})
    assert bundle_eprint("a.tar.gz", archive_bytes, folder.get) == (archive_bytes, [])


@needs_gs
def test_figures_become_pngs_through_mupdf_and_ghostscript(tmp_path: Path) -> None:
    pdf = pymupdf.open()
    page = pdf.new_page(width=144, height=72)
    page.draw_rect(pymupdf.Rect(10, 10, 130, 60), color=(0, 0, 1), width=3)
    eps = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 72 36\nnewpath 4 4 moveto 68 32 lineto 4 setlinewidth "
           b"stroke showpage\n")
    files = {"figs/plot.pdf": pdf.tobytes(), "figs/sketch.eps": eps, "figs/photo.png": _dot_png()}
    figures = FigureFiles(files, "", tmp_path, graphicspath=["figs/"], timeout_s=30, memory_mb=1024,
                          max_pixels=10**8)
    for name, size in (("plot", (300, 150)), ("sketch", (150, 75))):
        found = figures.find([name])
        png = pymupdf.Pixmap(figures.image_bytes(found))
        assert (png.width, png.height) == size  # 150 dpi
    assert figures.image_bytes(figures.find(["photo"])) == files["figs/photo.png"]
    assert figures.find(["../../etc/passwd", "/etc/passwd"]) is None


def test_detection_knows_eprints_from_their_look_alikes() -> None:
    tex = b"% arXiv\n\\documentclass{amsart}\n\\begin{document}x\\end{document}\n"
    assert detect_kind(pack_files({"fig.pdf": b"%PDF", "main.tex": tex}), "x.tar.gz") == "arxiv"
    assert detect_kind(gzip.compress(tex), "2405.00001") == "arxiv"
    assert detect_kind(tex, "paper.tex") == "arxiv"
    quoting = b"# LaTeX notes\n\nStart with:\n\n```\n\\documentclass{article}\n```\n\n- one\n- two\n"
    assert detect_kind(quoting, "notes.md") == "markdown"
    with pytest.raises(ConversionError):
        detect_kind(gzip.compress(b"just some text, gzipped"), "x.gz")
    assert not sniff_eprint(_tar_gz({"photo.jpg": b"\xff\xd8\xff"}), "photos.tar")


def test_a_bulk_source_tar_is_one_document_per_eprint() -> None:
    tex = b"\\documentclass{article}\\begin{document}bulk\\end{document}"
    bulk = io.BytesIO()
    with tarfile.open(fileobj=bulk, mode="w") as tar:
        for name, content in (("2101/2101.00001.gz", gzip.compress(tex)), ("2101/2101.00002.pdf", b"%PDF-1.5\n"),
                              ("2101/astro-ph0101003v2.gz", b"not gzip at all")):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    verdict = triage(FileBytes.of("arXiv_src_2101_001.tar", bulk.getvalue()))
    assert (verdict.role, verdict.kind) == ("container", "arxiv-src")
    from pin_assets.core.sources.expanded import ContainerFile

    container = ContainerFile("arXiv_src_2101_001.tar", "s3://arxiv/src/arXiv_src_2101_001.tar", "src.tar")
    members = list(kinds.container("arxiv-src").expand(bulk.getvalue(), container, verdict.tag))
    assert [(m.kind, m.origin["arxiv_id"]) for m in members] == [
        ("arxiv", "2101.00001"), ("pdf", "2101.00002"), ("unknown", "astro-ph/0101003")]
    assert container.summary == {"eprints": 1, "pdfs": 1, "unreadable": 1}
    assert arxiv_id("2101/2101.00001v3.gz") == "2101.00001"


def test_the_bench_compares_display_formulas_with_their_macros_expanded() -> None:
    """The formula comparison the real e-print test and bench.latex use: a source's macros with arguments
    expanded as TeX reads them, and LaTeXML's spellings (subarray, no empty scripts) matched."""
    tex = (r"\newcommand{\bF}[1]{\mathbf{F}_{#1}}\def\pair#1#2{(#1,#2)}\newcommand\R{\mathbb{R}}"
           "\n% \\[ \\bF{X} \\]\n\\[ \\sum_{\\substack{i \\\\ j}}^{} \\pair{\\bF{K}}x \\in \\R \\]")
    (formula,) = display_formulas(tex)
    assert formula.strip() == r"\sum_{\substack{i \\ j}}^{} (\mathbf{F}_{K},x) \in \mathbb{R}"
    latexml = r"$$\sum_{\begin{subarray}{c}i\\ j\end{subarray}}(\mathbf{F}_{K},x)\in\mathbb{R}$$"
    assert squash_tex(formula) in squash_tex(latexml)


def test_control_characters_in_a_converters_html_cost_nothing_else(tmp_path: Path) -> None:
    """pandoc wrote a BEL after each proof of arXiv 1712.03494 (which redefines ``proof``); libxml2 keeps it
    and refused it when the walk set text, failing the paper. It is dropped; the text and math stay."""
    from pin_assets.core.latex.markdown import pandoc_markdown

    html = ("<html><body><p>Thus one gets the thesis. \x070\u25fb</p><p>Next <span class='math inline'>"
            "\\(x^2\\)</span> \x0c kept.</p></body></html>").encode()
    figures = FigureFiles({}, "", tmp_path, graphicspath=[], timeout_s=30, memory_mb=1024, max_pixels=None)
    md = pandoc_markdown(html, figures).markdown
    assert "Thus one gets the thesis. 0\u25fb" in md and "Next $x^2$" in md and "kept." in md
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", md)


def test_a_tool_past_its_time_is_killed_with_its_children(tmp_path: Path) -> None:
    run = run_tool(["/bin/sh", "-c", "sleep 30 & sleep 30"], cwd=tmp_path, timeout_s=0.5, memory_mb=256)
    assert run.timed_out and not run.ok


def test_a_hung_latexml_quarantines_instead_of_falling_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seconds depend on the load: LaTeXML stopped by the wall clock (here a stand-in that reports it) makes
    the e-print a ``limit`` quarantine, never a pandoc or PDF record that an idle machine would not make."""
    from pin_assets.core.latex import convert

    monkeypatch.setattr(convert, "run_latexml", lambda *a, **k: ToolRun(-9, b"", "PIN work steps: 7\n", True))
    data = pack_files({"main.tex": b"\\documentclass{article}\\begin{document}Hi.\\end{document}"})
    pdf = (FIXTURE / "2405.16513.pdf").read_bytes()
    with pytest.raises(ConversionError) as caught:
        convert.eprint_to_markdown(data, limits=DocumentLimits(timeout_s=10), paired_pdf=pdf)
    assert caught.value.reason == "limit" and "LaTeXML ran past its 6 s share" in str(caught.value)
    assert "after 7 work steps" in str(caught.value)


# ---------------------------------------------------------------- through LaTeXML


@needs_latexml
def test_a_real_eprint_with_its_pdf(tmp_path: Path) -> None:
    """arXiv 2405.16513 as arXiv stores it (a gzipped tar) with its PDF beside it: every display equation's
    TeX is in the Markdown, headings and captions come in order, each figure is stored and placed above its
    caption, the overall images are the PDF's pages, and the record says LaTeXML made it."""
    source = tmp_path / "in"
    source.mkdir()
    files = {p.name: p.read_bytes() for p in PAPER.iterdir()}
    (source / "2405.16513.tar.gz").write_bytes(pack_files(files))
    (source / "2405.16513.pdf").write_bytes((FIXTURE / "2405.16513.pdf").read_bytes())
    record = convert_file(source / "2405.16513.tar.gz", tmp_path / "out", OPTIONS,
                          limits=DocumentLimits(timeout_s=600))
    md, meta = record["md"], record["meta"]
    assert meta["ori_meta"]["converter"] == "latexml" and record["quality_signals"]["latex_fallback"] == 0
    squashed = squash_tex(md)
    displays = display_formulas(files["HK2024-counterexample.tex"].decode())
    assert len(displays) == 10 and md.count("$$") == 2 * len(displays)
    for tex in displays:  # the paper's own macros expanded, as LaTeXML writes them; spaces and braces aside
        assert squash_tex(tex) in squashed, tex
    headings = re.findall(r"^(#{1,6}) (.+)$", md, re.M)
    assert headings == [("#", "A Counterexample to Viterbo’s Conjecture"), ("##", "Abstract"),
                        ("##", "1 Introduction and Results"), ("##", "2 Proof of the Main Result")]
    assert "**Theorem 1.2.** *Viterbo’s conjecture fails for every $n\\geq 2$.*" in md
    assert "*Proof of Theorem 1.2.*" in md
    captions = re.findall(r"<img src='content_image/([0-9a-f]{64}\.png)'>\n\nFigure (\d): ([^\n]+)", md)
    assert [(n, c) for _, n, c in captions] == [
        ("1", "The pentagon $K$ times the rotated pentagon $T$"),
        ("2", "The billiard trajectory $\\gamma$ in the first case"),
        ("3", "The billiard trajectory $\\gamma$ in the second case")]
    stored = tmp_path / "out" / "2405.16513" / "content_image"
    assert record["content_image"] == [f"content_image/{name}" for name, _, _ in captions]
    assert all((stored / name).is_file() for name, _, _ in captions)
    assert meta["oi_source"] == "ori" and len(record["overall_image"]) == pymupdf.open(
        FIXTURE / "2405.16513.pdf").page_count


def _small_source(tmp_path: Path) -> tuple[bytes, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.tex").write_text("TOPSECRET words")
    tex = (SMALL.replace("SECRET_ABS", str(outside / "secret")).replace("SECRET_DIR", str(outside))
           .replace("SECRET_REL", "etc/hostname"))
    return pack_files({"main.tex": tex.encode(), "dot.png": _dot_png()}), outside


@needs_latexml
def test_a_small_source_converts_fenced_and_without_a_pdf(tmp_path: Path) -> None:
    """No file outside the e-print is read (written out, climbing or built by macros); an undefined macro
    loses only itself, an unknown package only its macros (and is named); without a PDF the overall images
    are a compiled render."""
    data, _ = _small_source(tmp_path)
    (tmp_path / "small.tar.gz").write_bytes(data)
    record = convert_file(tmp_path / "small.tar.gz", tmp_path / "out", OPTIONS, limits=DocumentLimits(timeout_s=300))
    md, ori = record["md"], record["meta"]["ori_meta"]
    assert ori["converter"] == "latexml" and "TOPSECRET" not in md
    refused = json.loads(ori["latex_refused"])
    assert any("secret" in r and "outside" in r for r in refused)
    assert any("LaTeXML refused to read" in r for r in refused)  # the macro-built path, caught inside LaTeXML
    assert "Before kept words." in md and "unknownmacro" in ori["latexml_undefined"]
    assert json.loads(ori["latexml_missing_packages"]) == ["pinnotapackage.sty"]
    assert "$$\\begin{aligned} a & =b+c \\\\ d & =\\frac{e}{f} \\end{aligned}$$" in md
    assert "conserved[^1] as shown by [1]." in md and md.rstrip().endswith("[^1]: In closed systems.")
    assert "**Lemma 1 (Bound).** *For all $x>0$ we have $x^{2}\\geq 0$.*" in md and "*Proof.* Square it." in md
    assert "- plain one\n- plain two" in md and "- (i) chosen label" in md
    assert "| Name | Value |\n| --- | --- |\n| alpha | 1 |" in md and "Table 1: Values" in md
    assert re.search(r"<img src='content_image/[0-9a-f]{64}\.png'>\n\nFigure 1: A dot", md)
    assert "## References\n\n- [1] E. Noether, Invariante Variationsprobleme, 1918." in md
    assert record["meta"]["oi_source"] == "compiling" and record["overall_image"]


@needs_latexml
@needs_pandoc
def test_a_macro_loop_stops_at_the_work_budget_and_pandoc_takes_over(tmp_path: Path) -> None:
    """LaTeXML expands a two-macro loop until its work budget is spent (a count of work, so the outcome is the
    same under any load); pandoc, which refuses the loop, converts it without macro expansion."""
    tex = (b"\\documentclass{article}\n\\begin{document}\n\\section{Loop}\nWords before the loop "
           b"$E=mc^2$.\n\\def\\a{\\b}\\def\\b{\\a}\\a\n\\end{document}\n")
    (tmp_path / "loop.tex").write_bytes(tex)
    record = convert_file(tmp_path / "loop.tex", tmp_path / "out", OPTIONS,
                          limits=DocumentLimits(timeout_s=300, latex_work_budget=3))
    ori = record["meta"]["ori_meta"]
    assert ori["converter"] == "pandoc" and record["quality_signals"]["latex_fallback"] == 1
    assert "work budget of 3 steps" in ori["latex_fallback_reason"]
    assert "## Loop" in record["md"] and "Words before the loop $E=mc^2$." in record["md"]


@needs_latexml
def test_eprints_through_the_asset_graph(tmp_path: Path) -> None:
    """An unpacked e-print folder (one document, its files bundled), a broken e-print and a bulk tar (an
    e-print and a stray member): records or quarantine with reasons, and the counts balance."""
    folder = tmp_path / "src"
    (folder / "paper" / "figs").mkdir(parents=True)
    (folder / "paper" / "main.tex").write_text(
        "\\documentclass{article}\\usepackage{graphicx}\\begin{document}\\section{Unpacked}\\input{body}"
        "\\includegraphics{figs/dot}\\end{document}")
    (folder / "paper" / "body.tex").write_text("Body text with $\\alpha^2$ math.")
    (folder / "paper" / "figs" / "dot.png").write_bytes(_dot_png())
    whole = pack_files({"main.tex": b"\\documentclass{article}\\begin{document}cut\\end{document}"})
    (folder / "broken.tar.gz").write_bytes(whole[: len(whole) // 2])
    bulk = io.BytesIO()
    with tarfile.open(fileobj=bulk, mode="w") as tar:
        for name, content in (("2101/2101.00001.gz", gzip.compress(
                b"\\documentclass{article}\\begin{document}From the bulk tar.\\end{document}")),
                              ("2101/2101.00002.gz", b"garbage")):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    (folder / "arXiv_src_2101_001.tar").write_bytes(bulk.getvalue())
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    with DagsterInstance.ephemeral() as instance:
        result = run_batch(instance, storage, "arxiv", folder, max_quarantine_rate=1.0, doc_timeout_s=300)
    assert result.success
    account = account_batch(storage, "arxiv")
    assert account.balanced and account.documents == 4
    records = {r["meta"]["ori_meta"]["filename"]: r for r in read_records(storage)}
    assert set(records) == {"main.tex", "2101.00001.gz"}
    unpacked = records["main.tex"]
    assert "## 1 Unpacked" in unpacked["md"] and "$\\alpha^{2}$" in unpacked["md"]
    assert len(unpacked["content_image"]) == 1 and unpacked["meta"]["ori_meta"]["latex_source_files"] == "3"
    assert records["2101.00001.gz"]["meta"]["ori_meta"]["arxiv_id"] == "2101.00001"
    reasons = {row["source_uri"].rsplit("/", 1)[-1]: row["reason"]
               for row in read_quarantine(storage, "arxiv").to_pylist()}
    assert reasons == {"broken.tar.gz": "corrupt", "2101.00002.gz": "unsupported"}
