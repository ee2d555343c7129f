"""What the layout model costs: pin's parse with ``layout_model=auto`` and ``off`` against pymupdf4llm.

    python3 -m bench.layout_speed              3 repetitions on corpus/bench, writes its RESULTS.md section
    python3 -m bench.layout_speed --runs 5 --out /tmp/r.md

Issue 22's speed targets: text-layer parsing with the layout model on stays >= 3x faster than pymupdf4llm
2.0 defaults (``pymupdf4llm.to_markdown(path)``, its own layout model on), the share of parse time spent in
the layout model is reported, and each worker's peak RSS is reported and stays <= 1.5 GB.

How: every repetition starts a fresh :mod:`bench.parse_worker` process per contender (pin ``auto``, pin
``off``, pymupdf4llm defaults, and pymupdf4llm with ``use_ocr=False``: its defaults run Tesseract on pages
they judge to need it, which pin, reading the text layer of these PDFs, does not), in turn
(:func:`bench.timing.interleaved`), so a burst of load hits all of them in the same repetition. Each
worker parses the one-page document untimed first (lazy imports, compiling the model: a once-per-process
cost, as pool workers are long-lived) and then every PDF of corpus/bench, answering the CPU seconds of
that pass (its own and its finished children's), the CPU seconds inside the layout model's page calls
(the worker wraps ``layout._predict``: rendering the page at the model's input size and inference), and
``ru_maxrss`` at the end. CPU time rather than wall time because the machine is shared: a process waiting
for a core costs no CPU seconds. The model's share is given two ways, which should agree: ``(on - off) /
on`` from the two pin workers, and the wrapped calls' seconds over the on worker's. Ratios are taken
within a repetition and their median reported; peak RSS is the largest seen.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from bench.corpus import find_inputs, page_count
from bench.parse import Worker
from bench.report import Row, markdown_table, write_section
from bench.timing import interleaved

ON, OFF, RIVAL, RIVAL_TEXT = "pin", "pin-layout-off", "pymupdf4llm-layout", "pymupdf4llm-layout-noocr"
LABELS = {ON: "pin layout_model=auto", OFF: "pin layout_model=off", RIVAL: "pymupdf4llm 2.0 defaults",
          RIVAL_TEXT: "pymupdf4llm 2.0 defaults, use_ocr=False"}
HEADING = "Layout model speed and memory (`python3 -m bench.layout_speed`)"
RESULTS = Path(__file__).with_name("RESULTS.md")
MAX_RSS_MB = 1536  # 1.5 GB a worker


def run(pdfs: list[Path], runs: int) -> tuple[list[Row], list[str]]:
    pages = sum(page_count(p) for p in pdfs)
    warm = min(pdfs, key=page_count)
    answers: dict[str, list[dict]] = {tool: [] for tool in LABELS}

    def fresh(tool: str) -> float:
        worker = Worker(tool, pdfs)
        try:
            answer = worker.ask(f"cpu {warm}")
        finally:
            worker.close()
        answers[tool].append(answer)
        return float(answer["cpu"])

    samples = interleaved({tool: (lambda t=tool: fresh(t)) for tool in LABELS}, runs, warmup=0)
    rows = [Row(f"layout speed: {LABELS[tool]}", samples.median(tool) / pages, "CPU s/page",
                f"{pages} pages; {samples.spread(tool)} CPU a pass") for tool in LABELS]
    speedup = samples.ratio(RIVAL, ON)
    rows.append(Row("layout speed: pymupdf4llm / pin layout_model=auto", speedup, "x faster",
                    "CPU time ratio per run", ">= 3", speedup >= 3))
    rows.append(Row("layout speed: pymupdf4llm use_ocr=False / pin layout_model=auto", samples.ratio(RIVAL_TEXT, ON),
                    "x faster", "CPU time ratio per run; no OCR on its side"))
    share = statistics.median((on - off) / on for on, off in zip(samples.seconds[ON], samples.seconds[OFF],
                                                                     strict=True))
    rows.append(Row("layout speed: model share of pin's parse, (on - off) / on", 100 * share, "% of CPU",
                    "median per run; reported, no target"))
    model = [a["model_cpu"] for a in answers[ON]]
    direct = statistics.median(m / a["cpu"] for m, a in zip(model, answers[ON], strict=True))
    rows.append(Row("layout speed: model share of pin's parse, timed calls", 100 * direct, "% of CPU",
                    f"layout._predict (render + inference) wrapped; {1000 * statistics.median(model) / pages:.0f} "
                    "ms CPU a page"))
    for tool in LABELS:
        peak = max(a["max_rss_mb"] for a in answers[tool])
        target = tool in (ON, OFF)
        rows.append(Row(f"layout memory: {LABELS[tool]} worker peak RSS", peak, "MB",
                        "ru_maxrss at the end of a fresh worker, max over runs",
                        "<= 1.5 GB" if target else "", peak <= MAX_RSS_MB if target else None))
    checker = Worker(ON, pdfs)
    try:
        ocr = checker.ask("ocr")
    finally:
        checker.close()
    notes = [f"pin OCR'd {ocr['ocr_pages']} of {ocr['pages']} pages (pipeline OCR settings); pymupdf4llm's "
             "defaults ran Tesseract on the pages they chose, which is in their CPU seconds",
             f"inputs: {len(pdfs)} PDFs, {pages} pages; {runs} runs, a fresh worker per contender per run, "
             f"interleaved; warm-up per worker: {warm.name} ({page_count(warm)} page(s)), untimed"]
    return rows, notes


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.layout_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions, each in fresh workers (default 3)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="file whose section to write (default "
                        "bench/RESULTS.md)")
    args = parser.parse_args(argv)
    from bench import machine

    host = machine.describe()
    inputs = find_inputs()
    rows, notes = run(inputs.pdfs, args.runs)
    end1, end5, _ = os.getloadavg()
    table = markdown_table(rows)
    print(table)
    niceness = os.nice(0)
    command = (f"nice -n {niceness} " if niceness else "") + " ".join(["python3 -m bench.layout_speed", *argv])
    intro = [f"`{command}` on {inputs.origin}, started {host['date']}: {host['cpu']}, {host['cores']}, "
             f"{host['ram']}; pymupdf {host['pymupdf']}, pymupdf4llm {host['pymupdf4llm']}. Load average at start "
             f"{host['load average at start']}, at end {end1:.2f} (1 min), {end5:.2f} (5 min): the machine is "
             "shared, so CPU seconds are measured, not wall time. Method: `bench/layout_speed.py`'s docstring."]
    write_section(args.out, HEADING, intro, table, notes)
    print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
