"""How numbers appear in the Dagster UI: rounded for reading. The stored tables (Parquet, JSON) keep them exact."""

from __future__ import annotations

import math

from dagster import MetadataValue

SIGNIFICANT = 4


def readable(value: float, significant: int = SIGNIFICANT) -> MetadataValue:
    """``value`` rounded to ``significant`` digits (0.33333 -> 0.3333, 1234.5678 -> 1235.0), NaN kept as NaN."""
    if not math.isfinite(value) or value == 0:
        return MetadataValue.float(float(value))
    digits = significant - int(math.floor(math.log10(abs(value)))) - 1
    return MetadataValue.float(float(round(value, digits)))
