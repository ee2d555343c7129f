"""DuckDB statistics over the ``signals/<batch>/part-*.parquet`` files, per source and overall.

Users decide filters from these numbers, so they must be cheap enough to recompute over every partition
at each materialisation: one DuckDB scan computes counts, means, quantiles and the share of documents
each suggested filter would drop, per source and overall at once (``GROUPING SETS``); a second scan
counts the histogram bins.

Quantiles use one definition throughout: DuckDB's ``quantile_cont``, i.e. linear interpolation between
order statistics, the same as ``numpy.quantile(..., method="linear")``. Exact quantiles hold every value
in memory (about 17 signals x 8 bytes x 2 groupings per document, 2.7 GB for 10M documents), so above
:data:`EXACT_QUANTILE_MAX_ROWS` documents the default switches to DuckDB's ``approx_quantile`` (a
T-Digest sketch of bounded memory); :attr:`SignalStats.quantile_method` records which was used.

Input is either Parquet paths (local paths or globs, read by DuckDB's own reader, the fastest way) or a
``pyarrow.dataset.Dataset`` / ``pyarrow.Table``, so files on S3 can be read through pyarrow's
``S3FileSystem`` where DuckDB's httpfs extension cannot be installed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads

QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
EXACT_QUANTILE_MAX_ROWS = 20_000_000
EXACT_METHOD = "quantile_cont (exact, linear interpolation)"
APPROX_METHOD = "approx_quantile (T-Digest sketch)"
SOURCE_COLUMN = "source_dataset"
OVERALL = "__overall__"  # key of the all-sources histograms inside _histograms

Source = str | Path | Sequence[str | Path] | pads.Dataset | pa.Table


@dataclass(frozen=True)
class HistogramSpec:
    """Fixed bins for one signal, so histograms of different runs and sources line up.

    ``scale`` is ``"linear"`` (bins of equal width over ``[low, high)``) or ``"log10p1"`` (equal width in
    ``log10(1 + x)``, for heavy-tailed counts). Values below ``low`` fall in the first bin and values at or
    above ``high`` in the last, so every non-null value is counted once.
    """

    scale: str
    low: float
    high: float
    bins: int

    def edges(self) -> list[float]:
        """The ``bins + 1`` bin edges in signal units."""
        steps = [self.low + (self.high - self.low) * i / self.bins for i in range(self.bins + 1)]
        if self.scale == "log10p1":
            return [10**s - 1 for s in steps]
        return steps

    def bin_sql(self, column: str) -> str:
        """SQL giving the 0-based bin index of ``column`` (a quoted identifier)."""
        value = f"log10(1 + greatest({column}, 0))" if self.scale == "log10p1" else f"{column}"
        width = (self.high - self.low) / self.bins
        raw = f"floor(({value} - {self.low!r}) / {width!r})"
        # greatest/least skip NULLs, so a NULL value must be kept NULL explicitly rather than land in bin 0.
        clamped = f"least(greatest(CAST({raw} AS INTEGER), 0), {self.bins - 1})"
        return f"CASE WHEN {column} IS NOT NULL THEN {clamped} END"


_FRACTION = HistogramSpec("linear", 0.0, 1.0, 20)
_COUNT = HistogramSpec("log10p1", 0.0, 6.0, 24)

# The signals summarised and charted (the rest stay in the Parquet files for ad-hoc queries).
MAIN_SIGNALS: dict[str, HistogramSpec] = {
    "image_text_interleaving_count": HistogramSpec("linear", 0, 40, 20),
    "avg_tokens_per_text_block": HistogramSpec("log10p1", 0.0, 4.0, 20),
    "total_token_count": _COUNT,
    "text_block_count": HistogramSpec("log10p1", 0.0, 4.0, 20),
    "doc_length": HistogramSpec("log10p1", 0.0, 7.0, 28),
    "avg_text_block_length": HistogramSpec("log10p1", 0.0, 5.0, 20),
    "title_count": HistogramSpec("linear", 0, 100, 20),
    "rps_doc_word_count": _COUNT,
    "rps_doc_mean_word_length": HistogramSpec("linear", 0, 20, 20),
    "rps_doc_frac_unique_words": _FRACTION,
    "rps_doc_unigram_entropy": HistogramSpec("linear", 0, 10, 20),
    "rps_doc_frac_no_alph_words": _FRACTION,
    "rps_doc_stop_word_fraction": _FRACTION,
    "rps_doc_frac_chars_dupe_5grams": _FRACTION,
    "rps_doc_frac_chars_top_2gram": _FRACTION,
    "image_count": HistogramSpec("linear", 0, 40, 20),
    "image_min_side": HistogramSpec("log10p1", 0.0, 4.0, 20),
}


@dataclass(frozen=True)
class SuggestedFilter:
    """A filter users may want, as a SQL predicate that is TRUE for the documents it would drop."""

    name: str
    drop_if: str
    why: str


SUGGESTED_FILTERS: tuple[SuggestedFilter, ...] = (
    SuggestedFilter("too_few_tokens", "total_token_count < 50",
                    "PIN-style minimum: too little text to teach anything about its images"),
    SuggestedFilter("low_unique_words", "rps_doc_frac_unique_words < 0.3",
                    "degenerate, repetitive text (boilerplate, extraction loops)"),
    SuggestedFilter("dupe_5grams", "rps_doc_frac_chars_dupe_5grams > 0.15",
                    "Gopher's repetition rule: over 15% of characters in repeated 5-grams"),
    SuggestedFilter("top_2gram", "rps_doc_frac_chars_top_2gram > 0.2",
                    "Gopher's rule: one bigram carries over 20% of the characters"),
    SuggestedFilter("no_alpha_words", "rps_doc_frac_no_alph_words > 0.2",
                    "Gopher's rule (80% of words need a letter): tables of numbers, symbol soup"),
    SuggestedFilter("odd_word_length", "rps_doc_mean_word_length < 3 OR rps_doc_mean_word_length > 10",
                    "Gopher's rule: mean word length outside [3, 10] suggests garbled text"),
    SuggestedFilter("ellipsis_lines", "rps_doc_frac_lines_end_with_ellipsis > 0.3",
                    "Gopher's rule: many truncated lines (teasers, listings)"),
    SuggestedFilter("tiny_images", "image_count > 0 AND image_min_side < 100",
                    "RealSyn keeps images with a shorter side of at least 100 px"),
)


@dataclass(frozen=True)
class Summary:
    """Distribution of one signal in one group; ``None`` where the group has no non-null value."""

    count: int
    mean: float | None
    p5: float | None
    p25: float | None
    p50: float | None
    p75: float | None
    p95: float | None


@dataclass(frozen=True)
class GroupStats:
    """Everything computed for one source (or for all documents together)."""

    documents: int
    signals: dict[str, Summary]
    histograms: dict[str, list[int]]
    filter_drop_share: dict[str, float]
    any_filter_drop_share: float


@dataclass(frozen=True)
class SignalStats:
    """Result of :func:`compute_stats`; ``to_dict`` gives plain JSON-able data for metadata."""

    overall: GroupStats
    per_source: dict[str, GroupStats]
    histogram_edges: dict[str, list[float]]
    filters: tuple[SuggestedFilter, ...]
    quantile_method: str = EXACT_METHOD

    @property
    def signals(self) -> list[str]:
        return list(self.histogram_edges)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------------------------------
# Connecting to the input


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def connect(source: Source, view: str = "signals") -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection with ``source`` visible as the view ``view``."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if isinstance(source, pads.Dataset | pa.Table):
        con.register(view, source)
        return con
    paths = [str(source)] if isinstance(source, str | Path) else [str(p) for p in source]
    if not paths:
        raise ValueError("no Parquet files given")
    con.read_parquet(paths).create_view(view)
    return con


def _columns(con: duckdb.DuckDBPyConnection, view: str = "signals") -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE {_quote(view)}").fetchall()]


# ---------------------------------------------------------------------------------------------------
# The aggregate query


# The input with a NULL source named, so it groups as a visible source of its own.
_SRC = _quote(SOURCE_COLUMN)
_ROWS = f"(SELECT * REPLACE (coalesce({_SRC}, '(none)') AS {_SRC}) FROM signals)"


def _signal_selects(signal: str, index: int, exact: bool) -> list[str]:
    """Count, mean and quantiles of one signal; NULLs are skipped by every aggregate."""
    col = _quote(signal)
    quantiles = ", ".join(repr(q) for q in QUANTILES)
    function = "quantile_cont" if exact else "approx_quantile"
    return [
        f"count({col}) AS n_{index}",
        f"avg({col}) AS mean_{index}",
        f"{function}({col}::DOUBLE, [{quantiles}]) AS q_{index}",
    ]


def _usable_filters(columns: set[str]) -> list[SuggestedFilter]:
    """Filters whose every referenced column exists (older partitions may lack newer signals)."""
    return [f for f in SUGGESTED_FILTERS if _expression_columns(f.drop_if) <= columns]


def _summary_sql(signals: list[str], filters: list[SuggestedFilter], exact: bool) -> str:
    """Per-source rows plus one overall row (``is_overall`` = 1) of counts, means, quantiles, drop shares."""
    selects = [f"{_quote(SOURCE_COLUMN)} AS src", f"GROUPING({_quote(SOURCE_COLUMN)}) AS is_overall",
               "count(*) AS documents"]
    for i, name in enumerate(signals):
        selects += _signal_selects(name, i, exact)
    drops = [f"coalesce(({f.drop_if}), false)" for f in filters]
    selects += [f"avg(CASE WHEN {d} THEN 1.0 ELSE 0.0 END) AS drop_{i}" for i, d in enumerate(drops)]
    any_drop = " OR ".join(drops) or "false"
    selects.append(f"avg(CASE WHEN {any_drop} THEN 1.0 ELSE 0.0 END) AS drop_any")
    return (f"SELECT {', '.join(selects)} FROM {_ROWS} "
            f"GROUP BY GROUPING SETS (({_quote(SOURCE_COLUMN)}), ())")


def _histogram_sql(signals: list[str]) -> str:
    """Bin counts per (source, signal, bin) in one scan: one grouping set per signal.

    Hash-grouping small integer keys is cheaper here than DuckDB's ``histogram()`` map aggregate, and the
    overall histogram is the sum of the per-source ones, so it needs no pass of its own.
    """
    src = _quote(SOURCE_COLUMN)
    bins = ", ".join(f"{MAIN_SIGNALS[s].bin_sql(_quote(s))} AS b{i}" for i, s in enumerate(signals))
    keys = ", ".join(f"b{i}" for i in range(len(signals)))
    sets = ", ".join(f"(src, b{i})" for i in range(len(signals)))
    return (f"SELECT src, {keys}, count(*) AS n FROM (SELECT {src} AS src, {bins} FROM {_ROWS}) "
            f"GROUP BY GROUPING SETS ({sets})")


def _histograms(con: duckdb.DuckDBPyConnection, signals: list[str]) -> dict[str, dict[str, list[int]]]:
    """``{source: {signal: counts per bin}}`` plus the overall sums under :data:`OVERALL`."""
    out: dict[str, dict[str, list[int]]] = {}
    if not signals:
        return out
    for src, *keys, n in con.execute(_histogram_sql(signals)).fetchall():
        index = next((i for i, k in enumerate(keys) if k is not None), None)
        if index is None:
            continue  # a NULL signal value: not counted, as in the other aggregates
        name = signals[index]
        for group in (str(src), OVERALL):
            counts = out.setdefault(group, {}).setdefault(name, [0] * MAIN_SIGNALS[name].bins)
            counts[keys[index]] += int(n)
    return out


def _group_from_row(row: dict[str, Any], signals: list[str], filters: list[SuggestedFilter],
                    histograms: dict[str, list[int]]) -> GroupStats:
    summaries: dict[str, Summary] = {}
    for i, name in enumerate(signals):
        q = row[f"q_{i}"] or [None] * len(QUANTILES)
        summaries[name] = Summary(int(row[f"n_{i}"]), row[f"mean_{i}"], *q)
    return GroupStats(
        documents=int(row["documents"]),
        signals=summaries,
        histograms={s: histograms.get(s, [0] * MAIN_SIGNALS[s].bins) for s in signals},
        filter_drop_share={f.name: float(row[f"drop_{i}"] or 0.0) for i, f in enumerate(filters)},
        any_filter_drop_share=float(row["drop_any"] or 0.0),
    )


def _empty_group(signals: list[str], filters: list[SuggestedFilter]) -> GroupStats:
    return GroupStats(0, {s: Summary(0, None, None, None, None, None, None) for s in signals},
                      {s: [0] * MAIN_SIGNALS[s].bins for s in signals}, {f.name: 0.0 for f in filters}, 0.0)


def compute_stats(source: Source, exact: bool | None = None) -> SignalStats:
    """Per-source and overall statistics of every main signal present in ``source``.

    ``exact`` chooses exact quantiles (True), sketched ones (False), or, by default, exact up to
    :data:`EXACT_QUANTILE_MAX_ROWS` documents so a laptop never runs out of memory on a large corpus.
    """
    con = connect(source)
    try:
        columns = set(_columns(con))
        if SOURCE_COLUMN not in columns:
            raise ValueError(f"signal files lack the {SOURCE_COLUMN!r} column")
        signals = [s for s in MAIN_SIGNALS if s in columns]
        filters = _usable_filters(columns)
        if exact is None:
            exact = con.execute("SELECT count(*) FROM signals").fetchone()[0] <= EXACT_QUANTILE_MAX_ROWS
        cursor = con.execute(_summary_sql(signals, filters, exact))
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
        histograms = _histograms(con, signals)
    finally:
        con.close()
    overall = next((r for r in rows if r["is_overall"] and r["documents"]), None)
    per_source = {str(r["src"]): _group_from_row(r, signals, filters, histograms.get(str(r["src"]), {}))
                  for r in rows if not r["is_overall"]}
    return SignalStats(
        overall=(_group_from_row(overall, signals, filters, histograms.get(OVERALL, {}))
                 if overall else _empty_group(signals, filters)),
        per_source=dict(sorted(per_source.items())),
        histogram_edges={s: MAIN_SIGNALS[s].edges() for s in signals},
        filters=tuple(filters),
        quantile_method=EXACT_METHOD if exact else APPROX_METHOD,
    )


# ---------------------------------------------------------------------------------------------------
# --where previews


class UnsafeFilterError(ValueError):
    """A ``--where`` expression was refused: not one plain boolean expression over the signal columns."""


def _parse(sql: str) -> dict[str, Any]:
    con = duckdb.connect()
    try:
        text = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0]
    finally:
        con.close()
    return json.loads(text)


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _preview_sql(where_sql: str) -> str:
    return f"SELECT count(*) FILTER (WHERE ({where_sql})) AS kept, count(*) AS total FROM signals"


def _expression_tree(where_sql: str) -> dict[str, Any]:
    """Parse the exact preview query and return the filter expression's tree, refusing anything else.

    The statement that runs is the one checked here, so text that closes the parenthesis and appends a
    clause (``x) FROM other --``) changes the tree's shape and is refused rather than executed.
    """
    if not where_sql.strip():
        raise UnsafeFilterError("empty expression")
    if ";" in where_sql or "--" in where_sql or "/*" in where_sql:
        raise UnsafeFilterError("';' and SQL comments are not allowed in a filter expression")
    parsed = _parse(_preview_sql(where_sql))
    if parsed.get("error"):
        raise UnsafeFilterError(f"not a valid SQL expression: {parsed.get('error_message')}")
    statements = parsed["statements"]
    node = statements[0]["node"] if len(statements) == 1 else {}
    shape_ok = (
        node.get("type") == "SELECT_NODE" and not node.get("modifiers") and not node["cte_map"]["map"]
        and node.get("where_clause") is None and not node.get("group_expressions")
        and node.get("having") is None and node.get("qualify") is None and node.get("sample") is None
        and len(node.get("select_list", [])) == 2
        and node["from_table"].get("type") == "BASE_TABLE"
        and node["from_table"].get("table_name") == "signals"
        and node["select_list"][1].get("filter") is None
    )
    if not shape_ok:
        raise UnsafeFilterError("the filter must be a single boolean expression")
    return node["select_list"][0]["filter"]


def _expression_columns(where_sql: str) -> set[str]:
    """Column names an expression refers to (after the safety checks of :func:`_expression_tree`)."""
    tree = _expression_tree(where_sql)
    columns: set[str] = set()
    for node in _walk(tree):
        kind = node.get("class")
        if kind in ("SUBQUERY", "WINDOW", "STAR"):
            raise UnsafeFilterError(f"{kind.lower()} expressions are not allowed in a filter")
        if kind == "COLUMN_REF":
            names = node["column_names"]
            if len(names) != 1:
                raise UnsafeFilterError(f"qualified column names are not allowed: {'.'.join(names)}")
            columns.add(names[0])
    return columns


def validate_where(where_sql: str, columns: Sequence[str]) -> None:
    """Refuse an expression that is not one subquery-free boolean expression over ``columns``."""
    known = {c.lower() for c in columns}
    unknown = sorted(c for c in _expression_columns(where_sql) if c.lower() not in known)
    if unknown:
        raise UnsafeFilterError(f"unknown column(s): {', '.join(unknown)}")


def count_where(source: Source, where_sql: str) -> tuple[int, int]:
    """``(documents for which where_sql is TRUE, all documents)``: what a ``--where`` filter would keep.

    A NULL result counts as not kept, like a SQL ``WHERE``.
    """
    con = connect(source)
    try:
        validate_where(where_sql, _columns(con))
        kept, total = con.execute(_preview_sql(where_sql)).fetchone()
    except duckdb.Error as exc:
        raise UnsafeFilterError(f"the filter failed to run: {exc}") from exc
    finally:
        con.close()
    return int(kept), int(total)
