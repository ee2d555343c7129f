"""DuckDB aggregation of signal rows, measured by the stats owner's own script when it is there.

``bench/bench_stats.py`` belongs to the stats module's owner; it is run as a subprocess and its table
read back, so this package never re-implements (or drifts from) how the stats are computed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bench.corpus import REPO
from bench.report import Row

SCRIPT = Path(__file__).with_name("bench_stats.py")
ROW = re.compile(r"^\|\s*([\d,]+)\s*\|\s*(\d+)\s*\|\s*([\d,.]+)\s*\|\s*([\d.]+)\s*\|\s*([\d,]+)\s*\|\s*([\d.]+)\s*\|")


def run(rows: list[int], runs: int, timeout_s: float = 900) -> tuple[list[Row], list[str]]:
    """Rows for each size from bench_stats.py, or a note saying why there are none."""
    if not SCRIPT.exists():
        return [], [f"stats rows left out: {SCRIPT.relative_to(REPO)} does not exist yet"]
    command = [sys.executable, str(SCRIPT), "--rows", *map(str, rows), "--repeat", str(runs)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout_s, check=False)
    found = [ROW.match(line) for line in done.stdout.splitlines()]
    matches = [m for m in found if m]
    if done.returncode != 0 or not matches:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return [], [f"stats rows left out: bench_stats.py failed (exit {done.returncode}): {tail[0]}"]
    table = []
    for m in matches:
        count = int(m.group(1).replace(",", ""))
        label = f"{count / 1e6:g}M" if count >= 1_000_000 else f"{count:,}"
        how = f"{m.group(2)} Parquet files, {m.group(3)} MB; bench/bench_stats.py, median of {runs}"
        table.append(Row(f"stats: compute_stats, {label} signal rows", float(m.group(4)), "s", how))
        table.append(Row(f"stats: count_where, {label} signal rows", float(m.group(6)), "s", how))
    return table, []
