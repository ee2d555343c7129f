"""Reading order of the units on a page by recursive whitespace cuts (columns first), with figures
placed into the column they sit in afterwards."""

from __future__ import annotations

import math

from pin_assets.core.pdf.model import Unit


def reading_order(units: list[Unit], page_width: float) -> list[Unit]:
    """Order units by recursive cuts: split into columns where a vertical gap runs through the whole
    region, otherwise into horizontal bands, re-merging consecutive bands that share columns so a
    full-width title or figure does not make a two-column body read line by line across columns."""
    if len(units) <= 1:
        return list(units)
    columns = _split_columns(units, page_width)
    if len(columns) > 1:
        return [u for col in columns for u in reading_order(col, page_width)]
    bands = _split_bands(units)
    if len(bands) == 1:
        return sorted(units, key=lambda u: (round(u.y0), u.x0))
    groups: list[list[Unit]] = [bands[0]]
    for band in bands[1:]:
        if len(_split_columns(groups[-1] + band, page_width)) > 1:
            groups[-1] = groups[-1] + band
        else:
            groups.append(band)
    return [u for group in groups for u in reading_order(group, page_width)]


def place_figures(ordered: list[Unit], figures: list[Unit]) -> list[Unit]:
    """Insert images after the last unit above them in their column (or before the first unit of that
    column when nothing is above). Images take no part in the cuts because figures often straddle the
    column gutter, which would otherwise stop the page from splitting into columns at all."""
    ordered = list(ordered)
    for fig in sorted(figures, key=lambda u: (u.y0, u.x0)):
        same_column = [i for i, u in enumerate(ordered) if u.x0 < fig.x1 and u.x1 > fig.x0]
        above = [i for i in same_column if ordered[i].y0 < fig.y0]
        position = max(above) + 1 if above else min(same_column, default=len(ordered))
        ordered.insert(position, fig)
    return ordered


def _split_columns(units: list[Unit], page_width: float) -> list[list[Unit]]:
    """Split where no unit crosses a vertical gap; slivers narrower than a tenth of the page (bullets,
    numbers) stay with their nearer neighbour so a list is not read as all bullets first."""
    ordered = sorted(units, key=lambda u: u.x0)
    groups: list[list[Unit]] = []
    right = -1e9
    for unit in ordered:
        if groups and unit.x0 < right + 3:
            groups[-1].append(unit)
        else:
            groups.append([unit])
        right = max(right, unit.x1) if len(groups[-1]) > 1 else unit.x1
    min_width = 0.1 * page_width
    merged: list[list[Unit]] = []
    carried: list[Unit] = []  # a sliver nearer the next group than the last: it goes with the next
    for index, group in enumerate(groups):
        group = carried + group
        carried = []
        if _width(group) >= min_width:
            merged.append(group)
            continue
        to_left = _gap(merged[-1], group) if merged else math.inf
        to_right = _gap(group, groups[index + 1]) if index + 1 < len(groups) else math.inf
        if to_right < to_left:
            carried = group  # a reference's "[9]" cut from its text by OCR stands nearer its own column
        elif merged:
            merged[-1] = merged[-1] + group
        else:
            merged.append(group)
    return merged


def _gap(left: list[Unit], right: list[Unit]) -> float:
    """White space between two groups of units side by side."""
    return min(u.x0 for u in right) - max(u.x1 for u in left)


def _width(units: list[Unit]) -> float:
    """Horizontal extent of a group of units."""
    return max(u.x1 for u in units) - min(u.x0 for u in units)


def _split_bands(units: list[Unit]) -> list[list[Unit]]:
    """Split where no unit crosses a horizontal gap."""
    bands: list[list[Unit]] = []
    bottom = -1e9
    for unit in sorted(units, key=lambda u: u.y0):
        if bands and unit.y0 < bottom - 0.5:
            bands[-1].append(unit)
            bottom = max(bottom, unit.y1)
        else:
            bands.append([unit])
            bottom = unit.y1
    return bands
