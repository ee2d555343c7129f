"""``python3 -m bench``: run the benchmarks, print the table, write bench/RESULTS.md.

    python3 -m bench                      everything, medians of 5 after a warm-up (~10 min on 2 cores)
    python3 -m bench --quick              one run of tiny sizes: a smoke test, writes no RESULTS.md
    python3 -m bench --only render,parse  some sections (render, parse, units, sources, e2e, scaling, stats,
                                          realsyn)
    python3 -m bench --only realsyn       the sharded sentence index at N, 4N, 16N (--realsyn-n, default
                                          100,000) and the CPU text encoders; replaces only its own
                                          section of RESULTS.md
    python3 -m bench --only web           web pages against trafilatura on corpus/web (speed, snippet F1, images,
                                          disagreement report in --web-report); replaces only its own section
    python3 -m bench --runs 7 --n 50      more repetitions, bigger batches (e2e = 4N, scaling N..8N)
    python3 -m bench --only imports --baseline-code DIR
                                          `import pin_assets.definitions` wall/CPU, median of --runs fresh
                                          processes, here and in checkout DIR (before/after),
                                          and the webserver's start to the UI's asset graph
    python3 -m bench --only stack         the production stack (Postgres, S3, code server, daemon) vs
                                          `pin materialize` on the same drops (3 drops, and 20 of 5
                                          documents); not in the default set; replaces only its section

Module-level imports stay light: the pipeline section's pool workers re-import ``__main__``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

SECTIONS = ("render", "parse", "units", "sources", "e2e", "scaling", "stats", "realsyn", "web")
ON_REQUEST = ("stack", "imports")  # only with --only: minutes of services and runs; a before/after
REALSYN_HEADING = "RealSyn at corpus scale (`python3 -m bench --only realsyn`)"
STACK_HEADING = "Production stack vs `pin materialize` (`python3 -m bench --only stack`)"
IMPORTS_HEADING = "Importing the code location (`python3 -m bench --only imports`)"
RESULTS = Path(__file__).with_name("RESULTS.md")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run, tiny inputs; for smoke tests")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--runs", type=int, default=None, help="timed repetitions after the warm-up (default 5)")
    parser.add_argument("--n", type=int, default=None, help="base batch size N: e2e runs 4N docs, scaling N..8N "
                        "(default 25)")
    parser.add_argument("--pages-per-doc", type=int, default=1, help="pages per generated document, 0 = whole PDFs")
    parser.add_argument("--formats", default=None, help="render formats (default webp,jpeg,png; quick: webp)")
    parser.add_argument("--stats-rows", type=int, nargs="+", default=None, help="signal rows for the stats bench")
    parser.add_argument("--realsyn-n", type=int, default=None, help="RealSyn scale base N: runs N, 4N and 16N "
                        "synthetic sentences (default 100,000; quick 2,000)")
    parser.add_argument("--realsyn-sentences", type=int, default=None, help="sample sentences each text encoder "
                        "runtime encodes (default 1024; quick 64)")
    parser.add_argument("--inputs", type=Path, default=None, help="folder of PDFs to use instead of the bench corpus")
    parser.add_argument("--web-report", type=Path, default=None, help="folder for the web section's per-page "
                        "disagreement report (disagreements.jsonl)")
    parser.add_argument("--stack-code", type=Path, default=None, help="stack: run the stack and `pin materialize` "
                        "from this checkout (default: this one), e.g. one of main for the numbers before a change")
    parser.add_argument("--stack-drops", type=int, default=20, help="stack: how many drops of 5 documents")
    parser.add_argument("--stack-set", action="append", default=[], metavar="NAME=VALUE",
                        help="stack: an environment variable for every service, e.g. PIN_STEP_START_METHOD=spawn")
    parser.add_argument("--baseline-code", type=Path, default=None, help="imports: also time this checkout's "
                        "import (e.g. one of main), interleaved, for a before/after")
    parser.add_argument("--out", type=Path, default=None, help="where to write the results (default "
                        "bench/RESULTS.md; --quick writes nothing unless given)")
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(args.only) - set(SECTIONS) - set(ON_REQUEST))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS + ON_REQUEST)}")
    if any("=" not in pair for pair in args.stack_set):
        parser.error("--stack-set takes NAME=VALUE")
    args.runs = args.runs or (1 if args.quick else 5)
    args.n = args.n or (1 if args.quick else 25)
    args.formats = (args.formats or ("webp" if args.quick else "webp,jpeg,png")).split(",")
    args.stats_rows = args.stats_rows or ([100_000] if args.quick else [1_000_000, 10_000_000])
    args.out = args.out or (None if args.quick else RESULTS)
    args.realsyn_n = args.realsyn_n or (2_000 if args.quick else 100_000)
    args.realsyn_sentences = args.realsyn_sentences or (64 if args.quick else 1024)
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    from bench import imports, machine, parse, pipeline, realsyn, render, sources, stack, stats, units
    from bench.corpus import find_inputs
    from bench.report import Row, markdown_table, write_results, write_section

    host = machine.describe()
    inputs = find_inputs(limit=1 if args.quick else None)
    if args.inputs:
        inputs = type(inputs)(sorted(args.inputs.glob("*.pdf")), inputs.reference_dir, str(args.inputs))
    pages = inputs.pages
    rows: list[Row] = []
    realsyn_rows: list[Row] = []
    realsyn_notes: list[str] = []
    web_rows: list[Row] = []
    web_notes: list[str] = []
    stack_rows: list[Row] = []
    stack_notes: list[str] = []
    import_rows: list[Row] = []
    notes = [f"inputs: {len(inputs.pdfs)} PDFs, {pages} pages from {inputs.origin}; median of {args.runs} "
             f"run(s){'' if args.quick else ' after one warm-up'}; contenders interleaved within each run"]
    warmup = 0 if args.quick else 1
    began = time.perf_counter()
    clock = Clock()
    with tempfile.TemporaryDirectory(prefix="pin-bench-") as tmp:
        scratch = Path(tmp)
        log = scratch / "pipeline.log"
        if "render" in args.only:
            clock.start("render")
            rows += render.run(inputs.pdfs, pages, args.formats, args.runs, warmup)
        if "parse" in args.only:
            clock.start("parse", rows)
            reference = inputs.reference_dir
            if reference is not None and args.quick:
                reference = _first_reference(reference, scratch / "reference")
            parse_rows, parse_notes = parse.run(inputs.pdfs, pages, reference, args.runs, warmup)
            rows += parse_rows
            notes += parse_notes
        if "units" in args.only:
            clock.start("units", rows)
            unit_rows, unit_notes, _ = units.run(inputs.pdfs, pages, args.runs, warmup, scratch,
                                                       quick=args.quick)
            rows += unit_rows
            notes += unit_notes
        if "sources" in args.only:
            clock.start("sources", rows)
            rows += sources.run(args.formats, args.runs, warmup, max_sentences=128 if args.quick else None)
        if "e2e" in args.only:
            clock.start("end to end", rows)
            rows += pipeline.end_to_end(inputs.pdfs, 4 * args.n, args.pages_per_doc, args.runs, warmup, scratch, log)
        if "scaling" in args.only:
            clock.start("scaling", rows)
            rows += pipeline.scaling(inputs.pdfs, args.n, args.pages_per_doc, warmup, scratch, log)
        if "stats" in args.only:
            clock.start("stats", rows)
            stats_rows, stats_notes = stats.run(args.stats_rows, args.runs)
            rows += stats_rows
            notes += stats_notes
        if "realsyn" in args.only:
            clock.start("realsyn", rows)
            realsyn_rows, realsyn_notes = realsyn.scale(args.realsyn_n, args.runs, scratch, quick=args.quick)
            print(markdown_table(realsyn_rows), file=sys.stderr, flush=True)
            encoder_rows, encoder_notes = realsyn.encoders(args.runs, warmup, args.realsyn_sentences)
            realsyn_rows += encoder_rows
            realsyn_notes += encoder_notes
        if "web" in args.only:
            from bench import web

            clock.start("web", rows)
            if (web.CORPUS / "evaldata.json").is_file():
                web_rows, web_notes = web.run(web.CORPUS, args.runs, warmup, args.web_report or scratch / "web",
                                              limit=5 if args.quick else None)
            else:  # the shared web corpus is not mounted beside this checkout
                print(f"bench: web skipped: {web.CORPUS} not present", file=sys.stderr, flush=True)
        if "imports" in args.only:
            clock.start("imports", rows)
            import_rows = imports.run(args.runs, args.baseline_code)
            print(markdown_table(import_rows), file=sys.stderr, flush=True)
        if "stack" in args.only:
            clock.start("stack", rows)
            settings = dict(pair.split("=", 1) for pair in args.stack_set)
            stack_rows, stack_notes = stack.run(scratch, args.stack_code, args.stack_drops, settings=settings)
            print(markdown_table(stack_rows), file=sys.stderr, flush=True)
    clock.stop()
    elapsed = time.perf_counter() - began
    notes.append(f"bench wall time {elapsed / 60:.1f} min (per section, min: {clock.summary()}); "
                 f"started {host['date']}")
    command = " ".join(["python3 -m bench", *argv])
    table = markdown_table(rows)
    if rows:
        print(table)
        for note in notes:
            print(f"- {note}")
    extras = ((realsyn_rows, realsyn_notes), (web_rows, web_notes), (stack_rows, stack_notes), (import_rows, []))
    for extra_rows, extra_notes in extras:
        if extra_rows:
            print(markdown_table(extra_rows))
            for note in extra_notes:
                print(f"- {note}")
    if args.out:
        if rows:
            write_results(args.out, table, host, notes, command)
        if realsyn_rows:
            intro = [f"`{command}`, started {host['date']}: {host['cpu']}, {host['cores']}, load average at start "
                     f"{host['load average at start']}; the machine is shared, so rates move with its load and "
                     "the ratios (taken within a run) are the figures to compare. Wall time "
                     f"{clock.spent.get('realsyn', 0) / 60:.1f} min."]
            write_section(args.out, REALSYN_HEADING, intro, markdown_table(realsyn_rows), realsyn_notes)
        if web_rows:
            intro = [f"`{command}`, started {host['date']}: {host['cpu']}, {host['cores']}, load average at start "
                     f"{host['load average at start']}; ratios are taken within the run."]
            write_section(args.out, web.HEADING, intro, markdown_table(web_rows), web_notes)
        if import_rows:
            intro = [f"`{command}`, started {host['date']}: {host['cpu']}, {host['cores']}, load average at start "
                     f"{host['load average at start']}. Wall time moves with the machine's load; CPU seconds "
                     "much less. Method: `bench/imports.py`'s docstring."]
            write_section(args.out, IMPORTS_HEADING, intro, markdown_table(import_rows), [])
        if stack_rows:
            intro = [f"`{command}`, started {host['date']}: {host['cpu']}, {host['cores']}, load average at start "
                     f"{host['load average at start']}; the machine is shared, so rates move with its load and "
                     "the ratios (taken within a run) are the figures to compare. Wall time "
                     f"{clock.spent.get('stack', 0) / 60:.1f} min. Method: `bench/stack.py`'s docstring."]
            write_section(args.out, STACK_HEADING, intro, markdown_table(stack_rows), stack_notes)
        print(f"written to {args.out}", file=sys.stderr)
    return 0


def _first_reference(reference: Path, folder: Path) -> Path:
    """A one-document reference folder (links, not copies) so --quick scores quality in seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = sorted(reference.glob("*.expected.md"), key=lambda p: p.stat().st_size)[0]
    stem = expected.name[: -len(".expected.md")]
    for path in (expected, reference / f"{stem}.pdf"):
        (folder / path.name).symlink_to(path)
    return folder


class Clock:
    """Prints each section as it starts and remembers how long each took, for the notes."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._current: tuple[str, float] | None = None
        self.shown = 0

    def start(self, section: str, rows_so_far: list | None = None) -> None:
        """Begin ``section``; echo the rows finished so far to stderr, so an interrupted run keeps them."""
        self.stop()
        if rows_so_far and len(rows_so_far) > self.shown:
            from bench.report import markdown_table

            print(markdown_table(rows_so_far[self.shown:]), file=sys.stderr, flush=True)
            self.shown = len(rows_so_far)
        print(f"bench: {time.strftime('%H:%M:%S')} {section}", file=sys.stderr, flush=True)
        self._current = (section, time.perf_counter())

    def stop(self) -> None:
        if self._current:
            section, began = self._current
            self.spent[section] = time.perf_counter() - began
            self._current = None

    def summary(self) -> str:
        return ", ".join(f"{name} {seconds / 60:.1f}" for name, seconds in self.spent.items())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
