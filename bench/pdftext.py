"""Text flow and OCR speed, before and after a change: ``python3 -m bench.pdftext --baseline-code DIR``.

Issue 29 (paragraph flow, footnotes, sub/superscripts, OCR assembly, lying layers) adds work to every page;
it may cost at most 10% on text-layer pages. Each repetition starts one fresh process per checkout (this
one and ``--baseline-code``, e.g. a worktree of the commit the issue started from), in turn, so load from
the shared machine hits both alike; each process converts the same inputs with the pipeline's OCR settings:

- text layers: every page of ``corpus/bench`` and ``corpus/pdf`` (pages with a readable layer are not OCR'd,
  but each is checked for one, as in the parse stage);
- scanned copies: Latin-script ``corpus/pdf`` documents (``--scans``; by default a one-column paper page, a
  handbook page and a four-page two-column paper, 6 pages: OCR takes seconds a page and the machine is
  shared) with every page rasterized (grey, 150 dpi, as :func:`bench.ocr.scanned_copy` makes them), so
  every page is OCR'd.

Times are taken inside the process after imports and one untimed warm-up document: wall seconds and CPU
seconds (all threads; Tesseract's included), CPU being the figure load on the machine moves least. The ratio
is the median over repetitions of this checkout's time over the baseline's in the same repetition. Beside
speed, quality: each scanned copy's Markdown is scored against its text-layer original's Markdown from this
checkout, with the shared scorer's normalisation and word-sequence similarity (as :mod:`bench.ocr`).
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.corpus import REPO
from bench.ocr import scanned_copy
from bench.report import Row, markdown_table, write_section

CORPUS = Path("/work/shared/corpus")
SCORER = Path("/work/shared/tools/score_md.py")
HEADING = "Text flow and OCR before/after (`python3 -m bench.pdftext`)"
SCANS = "2305.03393v1-pg9,amt_handbook_sample,normal_4pages"

WORKER = r"""
import json, sys, time
from pathlib import Path
import pin_assets
from pin_assets.core.limits import DocumentLimits
from pin_assets.core.pdf import pdf_to_markdown

job = json.loads(sys.argv[1])
settings = DocumentLimits().ocr  # as the parse stage runs it
options = job.get("options", {})  # e.g. layout_model, which a baseline from before issue 22 does not take
pdf_to_markdown(Path(job["warmup"]).read_bytes(), ocr=settings, **options)
out = {"code": pin_assets.__file__}
for kind in ("text", "scanned"):
    wall = cpu = 0.0
    pages = ocr_pages = 0
    for path in job[kind]:
        data = Path(path).read_bytes()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        doc = pdf_to_markdown(data, ocr=settings, **options)
        wall += time.perf_counter() - wall0
        cpu += time.process_time() - cpu0
        pages += doc.page_count
        ocr_pages += len(doc.metadata.get("ocr_pages", ()))
        if kind == "scanned":
            Path(job["out"], Path(path).stem + ".md").write_text(doc.markdown, encoding="utf-8")
    out[kind] = {"wall": wall, "cpu": cpu, "pages": pages, "ocr_pages": ocr_pages}
print(json.dumps(out))
"""


def convert_once(code: Path, job: dict) -> dict:
    """One fresh interpreter converting ``job``'s inputs with ``code``'s converter."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PIN_", "DAGSTER_"))}
    env["PYTHONPATH"] = str(code)
    done = subprocess.run([sys.executable, "-c", WORKER, json.dumps(job)], cwd=code, env=env,
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["code"].startswith(str(code)):
        raise RuntimeError(f"{code}: imported pin_assets from {result['code']}")
    return result


def similarity(scorer, reference: str, markdown: str) -> float:
    want, got = scorer.norm(reference).split(), scorer.norm(markdown).split()
    return difflib.SequenceMatcher(None, want, got, autojunk=False).ratio()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.pdftext", description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-code", type=Path, required=True, help="checkout to compare with")
    parser.add_argument("--runs", type=int, default=3, help="repetitions (fresh processes per checkout)")
    parser.add_argument("--scans", default=SCANS, help="comma-separated corpus/pdf stems to scan and OCR")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md")
    parser.add_argument("--layout-model", choices=("auto", "off"), default=None,
                        help="this checkout's layout model (issue 22's, absent from older baselines): 'off' "
                        "separates its cost from the text-flow work's")
    args = parser.parse_args(argv)
    options = {"layout_model": args.layout_model} if args.layout_model else {}
    codes = {"after": REPO, "before": args.baseline_code.resolve()}
    text = sorted((CORPUS / "bench").glob("*.pdf")) + sorted((CORPUS / "pdf").glob("*.pdf"))
    originals = [CORPUS / "pdf" / f"{stem.strip()}.pdf" for stem in args.scans.split(",") if stem.strip()]
    spec = importlib.util.spec_from_file_location("score_md", SCORER)
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-pdftext-") as tmp:
        scans = []
        for pdf in originals:
            scans.append(Path(tmp, pdf.name))
            scans[-1].write_bytes(scanned_copy(pdf))
        seen: dict[str, list[dict]] = {name: [] for name in codes}
        quality: dict[str, dict[str, float]] = {}
        for run in range(args.runs):
            for name, code in (codes.items() if run % 2 == 0 else reversed(codes.items())):
                out = Path(tmp, f"{name}-{run}")
                out.mkdir()
                job = {"warmup": str(CORPUS / "bench" / "introduction.pdf"), "text": [str(p) for p in text],
                       "scanned": [str(p) for p in scans], "out": str(out),
                       "options": options if name == "after" else {}}
                seen[name].append(convert_once(code, job))
                print(name, run, json.dumps({k: seen[name][-1][k] for k in ("text", "scanned")}), flush=True)
                if run == 0:
                    from pin_assets.core.pdf import pdf_to_markdown
                    quality[name] = {p.stem: similarity(scorer, pdf_to_markdown(p.read_bytes()).markdown,
                                                        Path(out, p.stem + ".md").read_text(encoding="utf-8"))
                                     for p in originals}
    load_after = os.getloadavg()
    rows = []
    for kind, label in (("text", "text-layer pages"), ("scanned", "scanned pages (OCR)")):
        for measure in ("wall", "cpu"):
            per = {name: [r[kind][measure] for r in runs] for name, runs in seen.items()}
            pages = seen["after"][0][kind]["pages"]
            for name in codes:
                shown = f"{name} ({', '.join(f'{k}={v}' for k, v in options.items())})" if name == "after" and options \
                    else name
                rows.append(Row(f"pdftext: {label}, {shown}, {measure}", pages / statistics.median(per[name]),
                                "pages/s", f"{pages} pages, {seen[name][0][kind]['ocr_pages']} OCR'd; median of "
                                f"{args.runs} fresh processes ({min(per[name]):.1f}-{max(per[name]):.1f} s)"))
            ratio = statistics.median(a / b for a, b in zip(per["after"], per["before"], strict=True))
            target = "<= 1.10" if kind == "text" else ""
            rows.append(Row(f"pdftext: {label}, after / before time, {measure}", ratio, "x",
                            "median of per-repetition ratios", target, ratio <= 1.10 if target else None))
    for name in codes:
        scores = quality[name]
        rows.append(Row(f"pdftext: scanned copies, similarity to the original, {name}",
                        statistics.mean(scores.values()), "score 0-1",
                        f"mean over {len(scores)} scanned copies of corpus/pdf (150 dpi)"))
    table = markdown_table(rows)
    print(table)
    intro = [f"Command: `python3 -m bench.pdftext --baseline-code {args.baseline_code} --runs {args.runs} "
             f"--scans {args.scans}" + (f" --layout-model {args.layout_model}" if args.layout_model else "") + "`; "
             f"before = {codes['before']}, after = {codes['after']}.",
             f"Load average (1, 5, 15 min) at start {load_before[0]:.1f}, {load_before[1]:.1f}, "
             f"{load_before[2]:.1f}; at end {load_after[0]:.1f}, {load_after[1]:.1f}, {load_after[2]:.1f} "
             f"(2 cores shared with other developers). Method: `bench/pdftext.py`'s docstring."]
    notes = [f"similarity per scanned copy, {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in quality[name].items())
             for name in codes]
    write_section(args.out, HEADING, intro, table, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
