"""PDF quality on third-party pages, pin against pymupdf4llm 2.0 defaults, in one run and one command.

    python3 -m bench.pdf_quality                  gnarly units, corpus/pdf references, bench units, vector charts
    python3 -m bench.pdf_quality --keep DIR       also keep every tool's Markdown under DIR for reading
    python3 -m bench.pdf_quality --only gnarly    one or more of: gnarly, ref, units, charts

What it runs, per set, for each tool on the same files in the same run:

- ``gnarly``: every page of ``/work/shared/corpus/gnarly/pdfs`` converted, pin through ``pin convert`` (the
  command a user runs: worker processes, timeouts, the PIN record folder), each ``OUT/<stem>/<stem>.md``
  copied to a flat folder, and scored with ``/work/shared/tools/score_md.py unit`` per test type;
- ``ref``: ``/work/shared/corpus/pdf`` scored with ``score_md.py ref`` (similarity, heading and table recall);
- ``units``: the project's own cases (``bench/pdf_units/cases.jsonl``) with :mod:`bench.pdf_units.score`;
- ``charts``: generated vector charts (:mod:`bench.vector_charts`): figures kept as content images and
  tables invented from their tick labels.

pymupdf4llm runs through :mod:`bench.parse_worker` (its own process: importing it switches PyMuPDF into
layout mode). Both tools read the same PDFs; nothing is cached between runs.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import REPO, SHARED

GNARLY = SHARED / "corpus" / "gnarly"
REFERENCE = SHARED / "corpus" / "pdf"
SCORER = SHARED / "tools" / "score_md.py"
RIVAL = "pymupdf4llm-layout"
TOOLS = ("pin", RIVAL)
SETS = ("gnarly", "ref", "units", "charts")
UNIT_TYPES = ("present", "absent", "order", "table")


def convert(tool: str, pdfs: list[Path], flat: Path, scratch: Path) -> float:
    """Markdown of every PDF as ``flat/<stem>.md``; returns the wall seconds the conversion took."""
    flat.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    if tool == "pin":
        out = scratch / "pin-records"
        subprocess.run([sys.executable, "-m", "pin_assets.cli", "convert", *map(str, pdfs), "-o", str(out)],
                       cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        for pdf in pdfs:
            produced = out / pdf.stem / f"{pdf.stem}.md"
            if produced.exists():  # a failed input has no folder: the scorer counts it as empty
                shutil.copyfile(produced, flat / f"{pdf.stem}.md")
        shutil.rmtree(out, ignore_errors=True)
    else:
        done = subprocess.run([sys.executable, "-m", "bench.parse_worker", tool, *map(str, pdfs)], cwd=REPO,
                              input=f"dump {flat}\nquit\n", capture_output=True, text=True, check=False)
        if "written" not in done.stdout:
            raise RuntimeError(f"{tool} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - began


def score_units(md_dir: Path) -> dict[str, tuple[int, int]]:
    """``score_md.py unit`` on the gnarly tests: (passed, total) per type and ``all``; ids that failed."""
    done = subprocess.run([sys.executable, str(SCORER), "unit", str(GNARLY / "units.jsonl"), str(md_dir)],
                          capture_output=True, text=True, check=True)
    lines = done.stdout.strip().split("\n")
    counts = {k: (int(a), int(b)) for k, a, b in re.findall(r"(\w+)=(\d+)/(\d+)", lines[-1])}
    total = re.search(r"passed (\d+)/(\d+)", lines[-1])
    counts["all"] = (int(total.group(1)), int(total.group(2)))
    return counts


def failed_units(md_dir: Path) -> list[str]:
    done = subprocess.run([sys.executable, str(SCORER), "unit", str(GNARLY / "units.jsonl"), str(md_dir)],
                          capture_output=True, text=True, check=True)
    return [json.loads(line)["id"] for line in done.stdout.strip().split("\n")[:-1]
            if not json.loads(line)["pass"]]


def score_reference(md_dir: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, str(SCORER), "ref", str(REFERENCE), str(md_dir)],
                          capture_output=True, text=True, check=True)
    summary = done.stdout.strip().split("\n")[-1]
    return {k: float(v) for k, v in re.findall(r"(similarity|heading_recall|table_recall)=([\d.]+)", summary)}


def gnarly(scratch: Path, keep: Path | None) -> list[str]:
    pdfs = sorted((GNARLY / "pdfs").glob("*.pdf"))
    results, seconds = {}, {}
    for tool in TOOLS:
        folder = (keep or scratch) / "gnarly" / tool
        seconds[tool] = convert(tool, pdfs, folder, scratch)
        results[tool] = score_units(folder)
        if keep:
            (keep / "gnarly" / f"{tool}.failed.txt").write_text("\n".join(failed_units(folder)) + "\n")
    lines = [f"## gnarly: {len(pdfs)} third-party pages, `score_md.py unit` ({results['pin']['all'][1]} tests)", "",
             "| test type | " + " | ".join(TOOLS) + " | pin ahead |", "| --- | ---: | ---: | --- |"]
    for kind in ("all", *UNIT_TYPES):
        cells = [f"{100 * p / t:.1f}% ({p}/{t})" for p, t in (results[tool][kind] for tool in TOOLS)]
        ahead = results["pin"][kind][0] > results[RIVAL][kind][0]
        lines.append(f"| {kind} | " + " | ".join(cells) + f" | {'yes' if ahead else 'no'} |")
    lines.append(f"| conversion wall time | {seconds['pin']:.0f} s | {seconds[RIVAL]:.0f} s | |")
    return lines


def reference(scratch: Path, keep: Path | None) -> list[str]:
    pdfs = sorted(REFERENCE.glob("*.pdf"))
    scores = {}
    for tool in TOOLS:
        folder = (keep or scratch) / "ref" / tool
        convert(tool, pdfs, folder, scratch)
        scores[tool] = score_reference(folder)
    lines = [f"## corpus/pdf: {len(pdfs)} documents, `score_md.py ref`", "",
             "| metric | " + " | ".join(TOOLS) + " |", "| --- | ---: | ---: |"]
    for metric in ("similarity", "heading_recall", "table_recall"):
        lines.append(f"| {metric} | " + " | ".join(f"{scores[t][metric]:.3f}" for t in TOOLS) + " |")
    return lines


def units(scratch: Path, keep: Path | None) -> list[str]:
    from bench.pdf_units import docs
    from bench.pdf_units.score import KINDS, load_cases, score

    cases = load_cases()
    built = docs.build([c["pdf"] for c in cases], scratch / "unit-docs")
    results = {}
    for tool in TOOLS:
        folder = (keep or scratch) / "units" / tool
        convert(tool, sorted(built.values()), folder, scratch)
        markdown = {spec: (folder / f"{path.stem}.md").read_text(encoding="utf-8")
                    if (folder / f"{path.stem}.md").exists() else "" for spec, path in built.items()}
        results[tool] = score(cases, markdown)
    lines = [f"## bench units: {len(cases)} cases on {len(built)} documents (bench/pdf_units)", "",
             "| test type | " + " | ".join(TOOLS) + " |", "| --- | ---: | ---: |"]
    lines.append("| all | " + " | ".join(f"{100 * results[t].rate:.1f}%" for t in TOOLS) + " |")
    for kind in KINDS:
        lines.append(f"| {kind} | " + " | ".join(
            f"{results[t].passed.get(kind, 0)}/{results[t].total.get(kind, 0)}" for t in TOOLS) + " |")
    lines.append(f"\npin fails: {', '.join(results['pin'].failed) or 'none'}")
    return lines


def charts(scratch: Path, keep: Path | None) -> list[str]:
    from bench.vector_charts import CHARTS, count_figures, write_chart_pages

    folder = scratch / "charts-pdf"
    pdfs = write_chart_pages(folder)
    lines = [f"## vector charts: {len(CHARTS)} generated pages, each one vector figure (matplotlib) "
             "and where stated a ruled table", "",
             "| tool | figures kept as images | junk tables | ruled tables kept |", "| --- | ---: | ---: | ---: |"]
    for tool in TOOLS:
        out = (keep or scratch) / "charts" / tool
        convert(tool, pdfs, out, scratch)
        kept, junk, ruled, wanted = count_figures(out, pdfs)
        lines.append(f"| {tool} | {kept}/{len(pdfs)} | {junk} | {ruled}/{wanted} |")
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.pdf_quality", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SETS), help=f"comma-separated subset of {SETS}")
    parser.add_argument("--keep", type=Path, default=None, help="keep each tool's Markdown under this folder")
    args = parser.parse_args(argv)
    chosen = [s for s in args.only.split(",") if s]
    if unknown := set(chosen) - set(SETS):
        parser.error(f"unknown set(s) {sorted(unknown)}")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    out = [f"# PDF quality, pin vs pymupdf4llm 2.0 defaults (same run; load {' '.join(load)})", ""]
    with tempfile.TemporaryDirectory(prefix="pin-quality-") as tmp:
        for name in chosen:
            section = {"gnarly": gnarly, "ref": reference, "units": units, "charts": charts}[name]
            out += section(Path(tmp), args.keep) + [""]
            print("\n".join(out), file=sys.stderr, flush=True)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
