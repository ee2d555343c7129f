"""The result table: one row per number, each with its unit, how it was obtained, and its target."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

HEADER = ("benchmark", "value", "unit", "how", "target", "met")


@dataclass(frozen=True)
class Row:
    """A single measured or derived number; ``met`` is None where the issue sets no target."""

    name: str
    value: float
    unit: str
    how: str = ""
    target: str = ""
    met: bool | None = None


def format_value(value: float) -> str:
    """Three significant figures or so: benchmark noise makes more digits a lie."""
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "| --- | ---: | --- | --- | --- | --- |"]
    for row in rows:
        met = "" if row.met is None else ("met" if row.met else "MISSED")
        cells = (row.name, format_value(row.value), row.unit, row.how, row.target, met)
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)


def write_results(path: Path, table: str, machine: dict[str, str], notes: list[str], command: str) -> None:
    """RESULTS.md: the command, the machine, the table, and what a reader must know to trust it."""
    lines = ["# pin-factory benchmark results", "", f"Command: `{command}`", "", "## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in machine.items()]
    lines += ["", "## Results", "", table, ""]
    if notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")
