"""DuckDB aggregation of signal rows, measured by the stats owner's own script when it is there.

``bench/bench_stats.py`` belongs to the stats module's owner; it is run as a subprocess and its Markdown
table read back by column name, so this package neither re-implements how the stats are computed nor
breaks when the owner adds a column. Timing columns (``... (s)``) and rate columns (``rows/s``) become
rows of our table; the others (files, MB) go into the row's description.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.corpus import REPO
from bench.report import Row

SCRIPT = Path(__file__).with_name("bench_stats.py")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _number(cell: str) -> float | None:
    try:
        return float(cell.replace(",", ""))
    except ValueError:
        return None


def parse_table(stdout: str, runs: int) -> list[Row]:
    """Rows from the first table whose header starts with ``rows``."""
    lines = [line for line in stdout.splitlines() if line.strip().startswith("|")]
    header_at = next((i for i, line in enumerate(lines) if _cells(line)[0].lower() == "rows"), None)
    if header_at is None:
        return []
    header = _cells(lines[header_at])
    table = []
    for line in lines[header_at + 1:]:
        cells = _cells(line)
        count = _number(cells[0])
        if count is None or len(cells) != len(header):
            continue
        label = f"{count / 1e6:g}M" if count >= 1_000_000 else f"{count:,.0f}"
        context = ", ".join(f"{name} {cell}" for name, cell in zip(header[1:], cells[1:], strict=True)
                            if not (name.endswith("(s)") or "/s" in name))
        how = f"{context}; bench/bench_stats.py, median of {runs}"
        for name, cell in zip(header[1:], cells[1:], strict=True):
            value = _number(cell)
            if value is None:
                continue
            if name.endswith("(s)"):
                table.append(Row(f"stats: {name[:-3].strip()}, {label} signal rows", value, "s", how))
            elif "/s" in name:
                table.append(Row(f"stats: {name}, {label} signal rows", value, "rows/s", how))
    return table


def run(rows: list[int], runs: int, timeout_s: float = 900) -> tuple[list[Row], list[str]]:
    """Rows for each size from bench_stats.py, or a note saying why there are none."""
    if not SCRIPT.exists():
        return [], [f"stats rows left out: {SCRIPT.relative_to(REPO)} does not exist yet"]
    command = [sys.executable, str(SCRIPT), "--rows", *map(str, rows), "--repeat", str(runs)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout_s, check=False)
    table = parse_table(done.stdout, runs)
    if done.returncode != 0 or not table:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return [], [f"stats rows left out: bench_stats.py gave no table (exit {done.returncode}): {tail[0]}"]
    return table, []
