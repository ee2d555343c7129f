"""Time :func:`pin_assets.core.stats.compute_stats` on 1M and 10M random signal rows.

Rows are generated in chunks (so the generator's memory stays flat), written as one Parquet file per
chunk into a temporary folder, and aggregated with DuckDB with exact quantiles and with sampled ones
(``compute_stats`` picks exact up to ``EXACT_QUANTILE_MAX_ROWS``): one warm-up run, then the median of
five. Prints a Markdown table. Usage: ``python bench/bench_stats.py [--rows 1000000 10000000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pin_assets.core.signals import SIGNAL_DEFINITIONS  # noqa: E402
from pin_assets.core.stats import EXACT_QUANTILE_MAX_ROWS, compute_stats, count_where  # noqa: E402

CHUNK_ROWS = 1_000_000
SOURCES = np.array(["arxiv", "pmc", "obelics", "pg19", "linux-cn"])


def random_chunk(rng: np.random.Generator, start: int, rows: int) -> pa.Table:
    """Plausible-looking signals: counts log-normal, fractions in [0, 1], integers where counts are."""
    columns: dict[str, np.ndarray] = {
        "doc_id": np.char.add("doc-", np.arange(start, start + rows).astype(str)),
        "source_dataset": SOURCES[rng.integers(0, len(SOURCES), rows)],
        "batch": np.full(rows, f"bench-{start // CHUNK_ROWS:04d}"),
    }
    for definition in SIGNAL_DEFINITIONS:
        high = definition.valid_range[1]
        if definition.unit in ("fraction",):
            columns[definition.name] = rng.beta(2.0, 5.0, rows) * min(high, 1.0)
        elif definition.unit in ("chars", "tokens", "bytes", "words", "px", "ratio", "nats"):
            columns[definition.name] = rng.lognormal(4.0, 1.2, rows)
        else:
            columns[definition.name] = rng.poisson(6.0, rows).astype(np.int64)
    return pa.table(columns)


def write_rows(folder: Path, total: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    for start in range(0, total, CHUNK_ROWS):
        path = folder / f"part-{start // CHUNK_ROWS:05d}.parquet"
        pq.write_table(random_chunk(rng, start, min(CHUNK_ROWS, total - start)), path)
        paths.append(path)
    return paths


def time_call(fn, repeat: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (all threads of this process) of ``repeat`` calls.

    CPU time is reported too because the benchmark machine may be shared: it does not grow when other
    processes compete for the cores, while wall time does.
    """
    fn()  # warm-up: file cache, DuckDB's first-use costs
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}, "
          f"median of {args.repeat} after one warm-up\n")
    # Column names ending in "(s)" are timings and "rows/s" a rate: bench/stats.py reads them by name.
    print("| rows | files | Parquet MB | load (1 min) | exact quantiles (s) | exact quantiles CPU (s) "
          "| sampled quantiles (s) | sampled quantiles CPU (s) | rows/s (default) | count_where (s) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for total in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            paths = write_rows(Path(tmp), total)
            size_mb = sum(p.stat().st_size for p in paths) / 1e6
            exact = time_call(lambda paths=paths: compute_stats(paths, exact=True), args.repeat)
            sample = time_call(lambda paths=paths: compute_stats(paths, exact=False), args.repeat)
            default_s = exact[0] if total <= EXACT_QUANTILE_MAX_ROWS else sample[0]
            where_s, _ = time_call(lambda paths=paths: count_where(paths, "total_token_count >= 50"),
                                   args.repeat)
            print(f"| {total:,} | {len(paths)} | {size_mb:,.0f} | {os.getloadavg()[0]:.1f} "
                  f"| {exact[0]:.2f} | {exact[1]:.2f} | {sample[0]:.2f} | {sample[1]:.2f} "
                  f"| {total / default_s:,.0f} | {where_s:.3f} |", flush=True)


if __name__ == "__main__":
    main()
