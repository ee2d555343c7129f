"""DuckDB statistics over the ``signals/<batch>/part-*.parquet`` files, per source and overall.

Users decide filters from these numbers, so they must be cheap enough to recompute over every partition
at each materialisation: one DuckDB scan grouped by source computes counts, sums, quantiles, histograms
and how many documents each suggested filter would drop; the overall figures are added up from those
rows, except the overall quantiles, which take a second scan.

Quantiles use one definition throughout: DuckDB's ``quantile_cont``, i.e. linear interpolation between
order statistics, the same as ``numpy.quantile(..., method="linear")``. Exact quantiles hold every value
in memory (17 signals x 8 bytes x 2 passes per document: 1.4 GB for 5M documents) and get slow, so above
:data:`EXACT_QUANTILE_MAX_ROWS` documents the default switches to DuckDB's ``reservoir_quantile`` over a
uniform sample of :data:`SAMPLE_SIZE` values per group (bounded memory; the standard error of a
quantile's rank is at most 0.0016, and values vary slightly from run to run). DuckDB's
``approx_quantile`` (T-Digest) was tried: in bench/bench_stats.py it was 2.4x slower than the exact one
at 10M rows. :attr:`SignalStats.quantile_method` records
which was used.

Input is either Parquet paths (local paths or globs, read by DuckDB's own reader, the fastest way) or a
``pyarrow.dataset.Dataset`` / ``pyarrow.Table``, so files on S3 can be read through pyarrow's
``S3FileSystem`` where DuckDB's httpfs extension cannot be installed. Files are unioned by column name:
a partition written before a signal existed reads that signal as NULL, and NULLs are skipped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads

from pin_assets.core.lazy import lazy_import

duckdb = lazy_import("duckdb")  # loaded at first use, not with the definitions (core/lazy.py)

QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
EXACT_QUANTILE_MAX_ROWS = 5_000_000
SAMPLE_SIZE = 100_000
EXACT_METHOD = "quantile_cont (exact, linear interpolation)"
APPROX_METHOD = f"reservoir_quantile (uniform sample of {SAMPLE_SIZE:,} per group, approximate)"
SOURCE_COLUMN = "source_dataset"

PlainSource = str | Path | Sequence[str | Path] | pads.Dataset | pa.Table


@dataclass(frozen=True)
class JoinedSource:
    """Signal files with corpus-wide per-document columns joined on (the duplicate flags of ``core/dedup``).

    ``signals`` is registered as the view ``signal_rows``, each of ``tables`` under its name, and ``select``
    (SQL over those views) becomes the ``signals`` view every query and ``--where`` filter reads.
    """

    signals: PlainSource
    tables: tuple[tuple[str, PlainSource], ...]
    select: str


Source = PlainSource | JoinedSource


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

    def upper_bounds(self) -> list[float]:
        """Inclusive upper bound of every bin but the last, for DuckDB's ``histogram(x, bounds)``.

        DuckDB's buckets are right-closed (``x <= bound``); the largest double below each inner edge turns
        them into the left-closed bins ``[edge_i, edge_i+1)`` used here, exactly, for any double ``x``.
        """
        return [math.nextafter(edge, -math.inf) for edge in self.edges()[1:-1]]

    def histogram_sql(self, column: str) -> str:
        """Aggregate giving ``{upper bound: count}`` for ``column`` (NULLs skipped, the last key inf)."""
        bounds = ", ".join(repr(b) for b in self.upper_bounds())
        return f"histogram({column}::DOUBLE, [{bounds}]::DOUBLE[])"

    def counts(self, buckets: dict[float, int] | None) -> list[int]:
        """Bin counts in order from the map that :meth:`histogram_sql` returns."""
        index = {bound: i for i, bound in enumerate(self.upper_bounds())}
        out = [0] * self.bins
        for bound, n in (buckets or {}).items():
            out[index.get(bound, self.bins - 1)] += int(n)
        return out


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


# Thresholds follow PIN / Gopher / RealSyn where those fit RedPajama-v2's definitions, and were checked
# against the 16 sample documents of /work/shared/corpus (docling snapshots of papers, reports, web pages).
SUGGESTED_FILTERS: tuple[SuggestedFilter, ...] = (
    SuggestedFilter("too_few_tokens", "total_token_count < 50",
                    "PIN-style minimum: too little text to teach anything about its images"),
    SuggestedFilter("low_unique_words", "rps_doc_frac_unique_words < 0.3 AND rps_doc_word_count < 1000",
                    "short text that repeats itself; long documents fall below 0.3 naturally (the sample "
                    "eLife and PLOS articles score 0.25 and 0.23), so only documents under 1,000 words"),
    SuggestedFilter("dupe_5grams", "rps_doc_frac_chars_dupe_5grams > 0.3",
                    "repetition; Gopher used 0.15 on web text, but articles with reference lists exceed "
                    "that (the sample PLOS article: 0.19)"),
    SuggestedFilter("top_2gram", "rps_doc_frac_chars_top_2gram > 0.2",
                    "Gopher's rule: one bigram carries over 20% of the characters"),
    SuggestedFilter("no_alpha_words", "rps_doc_frac_no_alph_words > 0.5",
                    "symbol and number soup; RedPajama's raw words include punctuation tokens, so normal "
                    "prose already scores 0.1-0.4 and Gopher's 0.2 would drop it"),
    SuggestedFilter("odd_word_length", "rps_doc_mean_word_length < 3 OR rps_doc_mean_word_length > 10",
                    "Gopher's rule: mean word length outside [3, 10] suggests garbled text"),
    SuggestedFilter("ellipsis_lines", "rps_doc_frac_lines_end_with_ellipsis > 0.3",
                    "Gopher's rule: many truncated lines (teasers, listings)"),
    SuggestedFilter("tiny_images", "image_count > 0 AND image_min_side < 100",
                    "RealSyn keeps images with a shorter side of at least 100 px"),
    SuggestedFilter("duplicate", "is_duplicate",
                    "a near or exact copy of a document kept elsewhere in the corpus (duplicate_clusters; "
                    "shown once that asset has run)"),
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
    if isinstance(source, JoinedSource):
        con = connect(source.signals, "signal_rows")
        for name, table in source.tables:
            _register(con, table, name)
        con.execute(f"CREATE TEMP VIEW {_quote(view)} AS {source.select}")
        return con
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    _register(con, source, view)
    return con


def _register(con: duckdb.DuckDBPyConnection, source: PlainSource, view: str) -> None:
    if isinstance(source, pads.Dataset | pa.Table):
        con.register(view, source)
        return
    paths = [str(source)] if isinstance(source, str | Path) else [str(p) for p in source]
    if not paths:
        raise ValueError("no Parquet files given")
    con.read_parquet(paths, union_by_name=True).create_view(view)


def _columns(con: duckdb.DuckDBPyConnection, view: str = "signals") -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE {_quote(view)}").fetchall()]


# ---------------------------------------------------------------------------------------------------
# The aggregate query


# The input with a NULL source named, so it groups as a visible source of its own.
_SRC = _quote(SOURCE_COLUMN)
_ROWS = f"(SELECT * REPLACE (coalesce({_SRC}, '(none)') AS {_SRC}) FROM signals)"


def _usable_filters(columns: set[str]) -> list[SuggestedFilter]:
    """Filters whose every referenced column exists (older partitions may lack newer signals)."""
    return [f for f in SUGGESTED_FILTERS if _expression_columns(f.drop_if) <= columns]


def _quantile_sql(signal: str, exact: bool) -> str:
    quantiles = f"[{', '.join(repr(q) for q in QUANTILES)}]"
    if exact:
        return f"quantile_cont({_quote(signal)}::DOUBLE, {quantiles})"
    return f"reservoir_quantile({_quote(signal)}::DOUBLE, {quantiles}, {SAMPLE_SIZE})"


def _per_source_sql(signals: list[str], filters: list[SuggestedFilter], exact: bool) -> str:
    """One row per source with everything that adds up across sources, plus the source's quantiles.

    Sums and counts (not means or shares) are returned so the overall figures can be derived exactly
    from these rows; only the overall quantiles need a pass of their own (:func:`_overall_sql`).
    NULL signal values are skipped by every aggregate.
    """
    selects = [f"{_SRC} AS src", "count(*) AS documents"]
    for i, name in enumerate(signals):
        col = _quote(name)
        selects += [f"count({col}) AS n_{i}", f"sum({col}::DOUBLE) AS sum_{i}",
                    f"{_quantile_sql(name, exact)} AS q_{i}",
                    f"{MAIN_SIGNALS[name].histogram_sql(col)} AS h_{i}"]
    drops = [f"coalesce(({f.drop_if}), false)" for f in filters]
    selects += [f"count(*) FILTER (WHERE {d}) AS drop_{i}" for i, d in enumerate(drops)]
    selects.append(f"count(*) FILTER (WHERE {' OR '.join(drops) or 'false'}) AS drop_any")
    return f"SELECT {', '.join(selects)} FROM {_ROWS} GROUP BY {_SRC}"


def _overall_sql(signals: list[str], exact: bool) -> str:
    """Quantiles over all documents: the one figure that cannot be derived from the per-source rows.

    A separate plain aggregate, because DuckDB's ``GROUPING SETS`` with exact quantiles was about 2.5x
    slower than the two queries at 10M rows.
    """
    selects = [f"{_quantile_sql(name, exact)} AS q_{i}" for i, name in enumerate(signals)]
    return f"SELECT {', '.join(selects) or '1'} FROM signals"


def _merge_overall(rows: list[dict[str, Any]], overall_q: dict[str, Any], signals: list[str],
                   filters: list[SuggestedFilter]) -> dict[str, Any]:
    """Add the per-source rows up into an overall row of the same shape."""
    merged: dict[str, Any] = {"documents": sum(r["documents"] for r in rows), **overall_q}
    for i in range(len(signals)):
        merged[f"n_{i}"] = sum(r[f"n_{i}"] for r in rows)
        merged[f"sum_{i}"] = sum(r[f"sum_{i}"] or 0.0 for r in rows)
        merged[f"h_{i}"] = {}
        for r in rows:
            for key, count in (r[f"h_{i}"] or {}).items():
                merged[f"h_{i}"][key] = merged[f"h_{i}"].get(key, 0) + count
    for key in [f"drop_{i}" for i in range(len(filters))] + ["drop_any"]:
        merged[key] = sum(r[key] for r in rows)
    return merged


def _group_from_row(row: dict[str, Any], signals: list[str], filters: list[SuggestedFilter]) -> GroupStats:
    summaries: dict[str, Summary] = {}
    histograms: dict[str, list[int]] = {}
    for i, name in enumerate(signals):
        n = int(row[f"n_{i}"])
        q = row[f"q_{i}"] or [None] * len(QUANTILES)
        summaries[name] = Summary(n, row[f"sum_{i}"] / n if n else None, *q)
        histograms[name] = MAIN_SIGNALS[name].counts(row[f"h_{i}"])
    docs = int(row["documents"])
    return GroupStats(
        documents=docs,
        signals=summaries,
        histograms=histograms,
        filter_drop_share={f.name: row[f"drop_{i}"] / docs if docs else 0.0 for i, f in enumerate(filters)},
        any_filter_drop_share=row["drop_any"] / docs if docs else 0.0,
    )


def _fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def compute_stats(source: Source, exact: bool | None = None) -> SignalStats:
    """Per-source and overall statistics of every main signal present in ``source``.

    ``exact`` chooses exact quantiles (True), sampled ones (False), or, by default, exact up to
    :data:`EXACT_QUANTILE_MAX_ROWS` documents so a laptop does not run out of memory on a large corpus.
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
        rows = _fetch_dicts(con, _per_source_sql(signals, filters, exact))
        overall_q = _fetch_dicts(con, _overall_sql(signals, exact))[0]
    finally:
        con.close()
    return SignalStats(
        overall=_group_from_row(_merge_overall(rows, overall_q, signals, filters), signals, filters),
        per_source={str(r["src"]): _group_from_row(r, signals, filters)
                    for r in sorted(rows, key=lambda r: str(r["src"]))},
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


def ids_where(source: Source, where_sql: str, *, batch: str | None = None) -> set[str]:
    """The ``doc_id``s for which ``where_sql`` is TRUE (in ``batch`` only, if given): what a filter keeps.

    The expression passes the same checks as :func:`count_where`, so a filter that ``pin stats --where``
    accepts selects exactly the documents it counted.
    """
    con = connect(source)
    try:
        validate_where(where_sql, _columns(con))
        scope = "batch = ? AND " if batch is not None else ""
        rows = con.execute(
            f"SELECT doc_id FROM signals WHERE {scope}({where_sql})", [batch] if batch is not None else []
        ).fetchall()
    except duckdb.Error as exc:
        raise UnsafeFilterError(f"the filter failed to run: {exc}") from exc
    finally:
        con.close()
    return {row[0] for row in rows}
