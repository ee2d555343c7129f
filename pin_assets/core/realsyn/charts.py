"""Small Markdown reports for Dagster metadata: a size-statistics table and an ASCII histogram.

Plain Markdown renders in the Dagster UI without scripts or images, and reads the same in a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

BAR_WIDTH = 40


def size_stats(sizes: np.ndarray) -> dict[str, float]:
    """Count, min, median, mean, max and skew (max / median) of cluster sizes."""
    sizes = np.asarray(sizes, dtype=np.float64)
    if sizes.size == 0:
        return {"clusters": 0, "items": 0, "min": 0, "median": 0, "mean": 0, "max": 0, "max_over_median": 0}
    median = float(np.median(sizes))
    return {
        "clusters": int((sizes > 0).sum()),
        "items": int(sizes.sum()),
        "min": float(sizes[sizes > 0].min()) if (sizes > 0).any() else 0.0,
        "median": median,
        "mean": float(sizes.mean()),
        "max": float(sizes.max()),
        "max_over_median": float(sizes.max() / median) if median else 0.0,
    }


def histogram(values: np.ndarray, bins: int = 8) -> list[tuple[str, int]]:
    """Bucket labels and counts over [min, max] of ``values`` (integer edges, as sizes are integers)."""
    values = np.asarray(values)
    if values.size == 0:
        return []
    lo, hi = int(values.min()), int(values.max())
    edges = np.unique(np.linspace(lo, hi + 1, min(bins, hi - lo + 1) + 1).round().astype(int))
    counts, _ = np.histogram(values, bins=edges)
    pairs = zip(edges, edges[1:], counts, strict=False)
    return [(f"{a}-{b - 1}" if b - 1 > a else f"{a}", int(c)) for a, b, c in pairs]


def ascii_bars(buckets: list[tuple[str, int]]) -> str:
    """One line per bucket with a bar proportional to its count."""
    if not buckets:
        return "(empty)"
    peak = max(c for _, c in buckets) or 1
    width = max(len(label) for label, _ in buckets)
    return "\n".join(f"{label:>{width}} | {'#' * round(BAR_WIDTH * c / peak):<{BAR_WIDTH}} {c}" for label, c in buckets)


def distribution_report(columns: Mapping[str, np.ndarray], bins: int = 8) -> str:
    """Markdown: a statistics table with one column per distribution, then one histogram per distribution."""
    stats = {name: size_stats(sizes) for name, sizes in columns.items()}
    names = list(stats)
    lines = ["| statistic | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for key in next(iter(stats.values()), {}):
        lines.append(f"| {key} | " + " | ".join(f"{stats[n][key]:g}" for n in names) + " |")
    for name, sizes in columns.items():
        lines += ["", f"**{name}**: clusters by size", "", "```", ascii_bars(histogram(sizes, bins)), "```"]
    return "\n".join(lines)
