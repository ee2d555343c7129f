"""End to end and scaling: whole batches through ``pin_job`` against a plain loop of the same core calls.

Every batch runs in a fresh subprocess (:mod:`bench.pipeline_run`) so that its peak memory can be read
for the run alone: this process polls the resident set of the run and all its descendants (the
forkserver and the pool workers) and keeps the largest total, which is what the machine must hold.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.corpus import REPO, make_batch
from bench.report import Row
from bench.timing import interleaved

POLL_S = 0.05


@dataclass(frozen=True)
class RunOutcome:
    seconds: float  # the run itself: imports (and for Dagster the instance set-up) excluded
    import_s: float
    documents: int
    records: int
    peak_rss_mb: float  # polled sum over the run's process tree: what the machine must hold
    run_process_rss_mb: float  # getrusage peak of the run process alone (exact, not polled)
    cpu_s: float  # user + system seconds of the whole tree (polled), imports excluded


def sample_tree(process: psutil.Process, cpu: dict[int, float]) -> int:
    """Resident bytes of a process and every descendant alive now; updates CPU seconds seen per pid."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            with member.oneshot():
                total += member.memory_info().rss
                times = member.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        cpu[member.pid] = max(cpu.get(member.pid, 0.0), times.user + times.system)
    return total


def _poll(child: subprocess.Popen) -> tuple[int, float]:
    """Largest total resident set of ``child`` and its descendants, and their CPU seconds, until it exits.

    CPU time is the load-independent twin of wall time: on a shared machine wall time moves with other
    people's work, CPU seconds mostly do not. A process's last <50 ms before it exits can be missed.
    """
    watched = psutil.Process(child.pid)
    peak, cpu = 0, {}
    while child.poll() is None:
        try:
            peak = max(peak, sample_tree(watched, cpu))
        except psutil.NoSuchProcess:
            break
        time.sleep(POLL_S)
    return peak, sum(cpu.values())


def _kill_tree(child: subprocess.Popen) -> None:
    """An interrupted bench must not leave a run and its pool working in the background."""
    if child.poll() is not None:
        return
    try:
        members = [*psutil.Process(child.pid).children(recursive=True), psutil.Process(child.pid)]
    except psutil.NoSuchProcess:
        return
    for member in members:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            continue
    child.wait()


def run_batch(mode: str, source: Path, log: Path) -> RunOutcome:
    """Run one batch in a subprocess on a fresh work folder; poll its tree's memory until it exits."""
    work = Path(tempfile.mkdtemp(prefix=f"pin-bench-{mode}-"))
    try:
        with open(log, "a", encoding="utf-8") as err:
            child = subprocess.Popen([sys.executable, "-m", "bench.pipeline_run", mode, str(source), str(work)],
                                     cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True)
            try:
                peak, cpu_s = _poll(child)
                out = child.stdout.read() if child.stdout else ""
            finally:
                _kill_tree(child)
            if child.wait() != 0:
                tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
                raise RuntimeError(f"{mode} run failed (exit {child.returncode}):\n" + "\n".join(tail))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = json.loads(out.strip().splitlines()[-1])
    return RunOutcome(result["seconds"], result["import_s"], result["documents"], result["records"],
                      peak / 2**20, result["maxrss_self_mb"], cpu_s - result["import_cpu_s"])


def end_to_end(
    pdfs: list[Path], docs: int, pages_per_doc: int, runs: int, warmup: int, scratch: Path, log: Path
) -> list[Row]:
    """Dagster vs plain loop on the same batch, interleaved; overhead = 1 - plain / dagster per run."""
    source = make_batch(pdfs, scratch / f"batch-{docs}", docs, pages_per_doc)
    outcomes: dict[str, list[RunOutcome]] = {"dagster": [], "plain": []}

    def contender(mode: str):
        def timed() -> float:
            outcome = run_batch(mode, source, log)
            if outcome.records != docs:
                raise RuntimeError(f"{mode}: {outcome.records} records from {docs} documents; see {log}")
            outcomes[mode].append(outcome)
            return outcome.seconds
        return timed

    samples = interleaved({"dagster": contender("dagster"), "plain": contender("plain")}, runs, warmup)
    kept = {mode: outcomes[mode][-runs:] for mode in outcomes}  # drop the warm-up outcome
    how = f"{docs} docs x {pages_per_doc or 'all'} page(s); set-up excluded"
    rows = []
    for mode, label in (("dagster", "Dagster pin_job"), ("plain", "plain loop, same core + pool")):
        imports = sorted(o.import_s for o in kept[mode])[len(kept[mode]) // 2]
        rows.append(Row(f"end to end: {label}", docs / samples.median(mode), "docs/s",
                        f"{how}; {samples.spread(mode)}; set-up {imports:.1f} s"))
    overhead = 1 - 1 / samples.ratio("dagster", "plain")
    rows.append(Row("end to end: Dagster overhead", 100 * overhead, "% of wall time",
                    "1 - plain/dagster, median per run", "< 15", overhead < 0.15))
    cpu = {mode: statistics.median(o.cpu_s for o in kept[mode]) for mode in kept}
    cpu_overhead = statistics.median(1 - p.cpu_s / d.cpu_s for d, p in zip(kept["dagster"], kept["plain"], strict=True))
    rows.append(Row("end to end: Dagster overhead, CPU time", 100 * cpu_overhead, "% of CPU seconds",
                    f"run + workers, set-up excluded: {cpu['dagster']:.1f} s vs {cpu['plain']:.1f} s (median); "
                    "insensitive to other load"))
    return rows


def scaling(pdfs: list[Path], base: int, pages_per_doc: int, warmup: int, scratch: Path, log: Path) -> list[Row]:
    """Batches of N, 2N, 4N, 8N through ``pin_job``: time per document and peak memory at each size.

    One run per size (after a warm-up run): the question is growth, and the 8N run alone is eight
    times the end-to-end batch.
    """
    for _ in range(warmup):
        run_batch("dagster", make_batch(pdfs, scratch / "scaling-warmup", max(2, base // 4), pages_per_doc), log)
    sizes = [base, 2 * base, 4 * base, 8 * base]
    outcomes = {}
    for size in sizes:
        outcomes[size] = run_batch("dagster", make_batch(pdfs, scratch / f"scaling-{size}", size, pages_per_doc), log)
    rows = []
    for size in sizes:
        o = outcomes[size]
        rows.append(Row(f"scaling: {size} docs, time per document", o.seconds / size, "s/doc",
                        f"{o.seconds:.1f} s total; peak RSS {o.peak_rss_mb:,.0f} MB run + workers, "
                        f"{o.run_process_rss_mb:,.0f} MB run process"))
    first, last = outcomes[sizes[0]], outcomes[sizes[-1]]
    time_ratio = (last.seconds / sizes[-1]) / (first.seconds / sizes[0])
    rss_ratio = last.peak_rss_mb / first.peak_rss_mb
    run_ratio = last.run_process_rss_mb / first.run_process_rss_mb
    rows.append(Row("scaling: time per doc 8N / N", time_ratio, "x", "1.0 = linear", "<= 1.2 (linear)",
                    time_ratio <= 1.2))
    rows.append(Row("scaling: peak RSS 8N / N", rss_ratio, "x",
                    f"{first.peak_rss_mb:,.0f} -> {last.peak_rss_mb:,.0f} MB, run + workers (run process alone "
                    f"{run_ratio:.2f}x)", "<= 1.2",
                    rss_ratio <= 1.2))
    return rows
