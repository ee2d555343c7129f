"""DuckDB statistics checked against a plain numpy computation on generated signal files.

Quantile definition used on both sides: linear interpolation between order statistics (DuckDB
``quantile_cont`` and ``numpy.quantile(method="linear")``).
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from pin_assets.core.dashboard import render_dashboard, stats_markdown
from pin_assets.core.signals import SIGNAL_DEFINITIONS
from pin_assets.core.stats import (
    MAIN_SIGNALS,
    QUANTILES,
    SUGGESTED_FILTERS,
    UnsafeFilterError,
    compute_stats,
    count_where,
)

SOURCES = ["arxiv", "pmc", "obelics"]
ROWS_PER_FILE = 4000


def _random_table(rng: np.random.Generator, start: int, rows: int) -> pa.Table:
    columns: dict[str, object] = {
        "doc_id": [f"d{i}" for i in range(start, start + rows)],
        "source_dataset": rng.choice(SOURCES, rows, p=[0.5, 0.3, 0.2]),
        "batch": [f"b{start}"] * rows,
    }
    for d in SIGNAL_DEFINITIONS:
        if d.unit == "fraction":
            columns[d.name] = rng.random(rows) * min(d.valid_range[1], 1.0)
        elif d.unit in ("chars", "tokens", "bytes", "px", "ratio", "nats"):
            columns[d.name] = rng.lognormal(3.5, 1.5, rows)
        else:
            columns[d.name] = rng.poisson(5, rows).astype(np.int64)
    table = pa.table(columns)
    # Some missing values, which every aggregate must skip.
    mean_len = table["rps_doc_mean_word_length"].to_numpy().copy()
    mask = rng.random(rows) < 0.05
    column = pa.array(mean_len, mask=mask)
    return table.set_column(table.schema.get_field_index("rps_doc_mean_word_length"),
                            "rps_doc_mean_word_length", column)


@pytest.fixture(scope="module")
def signal_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signals")
    rng = np.random.default_rng(42)
    paths = []
    for i in range(3):
        path = folder / f"part-{i}.parquet"
        pq.write_table(_random_table(rng, i * ROWS_PER_FILE, ROWS_PER_FILE), path)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def frame(signal_files):
    return pa.concat_tables(pq.read_table(p) for p in signal_files)


@pytest.fixture(scope="module")
def stats(signal_files):
    result = compute_stats(signal_files)
    assert result.quantile_method.startswith("quantile_cont")  # small input: exact by default
    return result


def _values(frame: pa.Table, signal: str, source: str | None) -> np.ndarray:
    col = frame[signal].to_numpy(zero_copy_only=False).astype(float)
    if source is not None:
        col = col[frame["source_dataset"].to_numpy(zero_copy_only=False) == source]
    return col[~np.isnan(col)]


def _numpy_histogram(values: np.ndarray, edges: list[float]) -> list[int]:
    """Bins by edge search (independent of the SQL's arithmetic); out-of-range values go to the end bins."""
    index = np.searchsorted(np.asarray(edges[1:-1]), values, side="right")
    return np.bincount(index, minlength=len(edges) - 1).tolist()


@pytest.mark.parametrize("source", [None, *SOURCES])
def test_counts_means_quantiles_match_numpy(stats, frame, source):
    group = stats.overall if source is None else stats.per_source[source]
    expected_docs = frame.num_rows if source is None else int(
        (frame["source_dataset"].to_numpy(zero_copy_only=False) == source).sum())
    assert group.documents == expected_docs
    for signal in MAIN_SIGNALS:
        values = _values(frame, signal, source)
        summary = group.signals[signal]
        assert summary.count == len(values)
        assert summary.mean == pytest.approx(values.mean(), rel=1e-9)
        expected = np.quantile(values, QUANTILES, method="linear")
        got = [summary.p5, summary.p25, summary.p50, summary.p75, summary.p95]
        assert got == pytest.approx(expected.tolist(), rel=1e-9), signal


@pytest.mark.parametrize("source", [None, *SOURCES])
def test_histograms_match_numpy(stats, frame, source):
    group = stats.overall if source is None else stats.per_source[source]
    for signal in MAIN_SIGNALS:
        values = _values(frame, signal, source)
        assert group.histograms[signal] == _numpy_histogram(values, stats.histogram_edges[signal]), signal
        assert sum(group.histograms[signal]) == len(values)


def test_sampled_quantiles_are_close_and_labelled(signal_files, frame, stats):
    approx = compute_stats(signal_files, exact=False)
    assert approx.quantile_method != stats.quantile_method
    assert approx.overall.histograms == stats.overall.histograms
    for signal in ("rps_doc_frac_unique_words", "total_token_count"):
        values = _values(frame, signal, None)
        summary = approx.overall.signals[signal]
        for q, got in zip(QUANTILES, (summary.p5, summary.p25, summary.p50, summary.p75, summary.p95),
                          strict=True):
            rank = (values < got).mean()  # where the sampled value falls in the true distribution
            assert abs(rank - q) < 0.01, (signal, q, rank)


def test_nulls_are_skipped(stats, frame):
    summary = stats.overall.signals["rps_doc_mean_word_length"]
    assert frame["rps_doc_mean_word_length"].null_count > 0
    assert summary.count == frame.num_rows - frame["rps_doc_mean_word_length"].null_count


def test_filter_drop_shares_match_numpy(stats, frame):
    cols = {name: frame[name].to_numpy(zero_copy_only=False).astype(float) for name in frame.column_names
            if name not in ("doc_id", "source_dataset", "batch")}
    nan_false = np.nan_to_num
    masks = {
        "too_few_tokens": cols["total_token_count"] < 50,
        "low_unique_words": (cols["rps_doc_frac_unique_words"] < 0.3) & (cols["rps_doc_word_count"] < 1000),
        "dupe_5grams": cols["rps_doc_frac_chars_dupe_5grams"] > 0.3,
        "top_2gram": cols["rps_doc_frac_chars_top_2gram"] > 0.2,
        "no_alpha_words": cols["rps_doc_frac_no_alph_words"] > 0.5,
        # NULL mean word length: the predicate is NULL, which drops nothing.
        "odd_word_length": (nan_false(cols["rps_doc_mean_word_length"], nan=5.0) < 3)
        | (nan_false(cols["rps_doc_mean_word_length"], nan=5.0) > 10),
        "ellipsis_lines": cols["rps_doc_frac_lines_end_with_ellipsis"] > 0.3,
        "tiny_images": (cols["image_count"] > 0) & (cols["image_min_side"] < 100),
    }
    assert set(masks) == {f.name for f in SUGGESTED_FILTERS if f.name != "duplicate"}  # no flags in these files
    assert "duplicate" not in stats.overall.filter_drop_share
    for name, mask in masks.items():
        assert stats.overall.filter_drop_share[name] == pytest.approx(mask.mean(), abs=1e-12), name
    assert stats.overall.any_filter_drop_share == pytest.approx(np.any(list(masks.values()), axis=0).mean())
    source = frame["source_dataset"].to_numpy(zero_copy_only=False) == "pmc"
    share = stats.per_source["pmc"].filter_drop_share["too_few_tokens"]
    assert share == pytest.approx(masks["too_few_tokens"][source].mean())


def _flatten(value, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{path}/{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _flatten(item, f"{path}[{i}]")
    else:
        yield path, value


def test_dataset_input_gives_the_same_stats(signal_files, stats):
    from_dataset = compute_stats(pads.dataset([str(p) for p in signal_files], format="parquet"))
    got, expected = dict(_flatten(from_dataset.to_dict())), dict(_flatten(stats.to_dict()))
    assert got.keys() == expected.keys()
    for key, value in expected.items():  # means may differ in the last bits (summation order)
        assert got[key] == (pytest.approx(value, rel=1e-12) if isinstance(value, float) else value), key


def test_older_partition_without_a_signal_reads_it_as_null(tmp_path, frame):
    old, new = tmp_path / "old.parquet", tmp_path / "new.parquet"
    pq.write_table(frame.slice(0, 100).drop_columns(["image_min_side"]), old)
    pq.write_table(frame.slice(100, 50), new)
    result = compute_stats([old, new])
    assert result.overall.documents == 150
    assert result.overall.signals["image_min_side"].count == 50
    assert sum(result.overall.histograms["image_min_side"]) == 50


def test_empty_input(tmp_path, frame):
    path = tmp_path / "empty.parquet"
    pq.write_table(frame.slice(0, 0), path)
    result = compute_stats([path])
    assert result.overall.documents == 0 and result.per_source == {}
    assert result.overall.signals["total_token_count"].mean is None


# --- count_where ----------------------------------------------------------------------------------------


def test_count_where_matches_numpy(signal_files, frame):
    tokens = frame["total_token_count"].to_numpy()
    src = frame["source_dataset"].to_numpy(zero_copy_only=False)
    expected = int(((tokens >= 50) & (src != "obelics")).sum())
    assert count_where(signal_files, "total_token_count >= 50 AND source_dataset <> 'obelics'") == (
        expected, frame.num_rows)
    dataset = pads.dataset([str(p) for p in signal_files], format="parquet")
    assert count_where(dataset, "total_token_count >= 50 AND source_dataset <> 'obelics'") == (
        expected, frame.num_rows)


def test_count_where_null_is_not_kept(signal_files, frame):
    kept, total = count_where(signal_files, "rps_doc_mean_word_length > -1")
    assert kept == total - frame["rps_doc_mean_word_length"].null_count


@pytest.mark.parametrize("bad", [
    "total_token_count > 1; DROP TABLE signals",
    "total_token_count > 1 -- comment",
    "total_token_count > 1 /* comment */",
    "1=1) AS kept, count(*) AS total FROM read_parquet('x') --",
    "1=1)) AS kept, count(*) AS total FROM signals UNION SELECT 1, 2 FROM signals WHERE ((1=1",
    "total_token_count IN (SELECT 1)",
    "EXISTS (SELECT * FROM read_text('/etc/passwd'))",
    "no_such_column > 3",
    "signals.total_token_count > 3",
    "total_token_count >",
    "",
    "count(*) OVER () > 1",
])
def test_count_where_rejects_bad_sql(signal_files, bad):
    with pytest.raises(UnsafeFilterError):
        count_where(signal_files, bad)


# --- dashboard ------------------------------------------------------------------------------------------


class _Checker(HTMLParser):
    """Collects charts and checks that every non-void element is closed in order."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "source", "wbr"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.charts: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "svg" and "chart" in (attributes.get("class") or "").split():
            self.charts.append(attributes.get("data-signal", ""))
        if tag == "script" or any(k in ("src", "href") for k in attributes):
            self.external.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "svg":
            self.errors.append("empty svg")
        if any(k in ("src", "href") for k in attributes):
            self.external.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()


def test_dashboard_is_valid_self_contained_html(stats):
    html = render_dashboard(stats)
    assert html.startswith("<!DOCTYPE html>")
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert checker.external == []
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert sorted(checker.charts) == sorted(MAIN_SIGNALS)  # exactly one chart per main signal
    for source in SOURCES:
        assert f"<td>{source}</td>" in html


def test_dashboard_escapes_source_names(tmp_path, frame):
    table = frame.slice(0, 50)
    odd = pa.array(["<b>&evil</b>"] * 50)
    table = table.set_column(table.schema.get_field_index("source_dataset"), "source_dataset", odd)
    path = tmp_path / "odd.parquet"
    pq.write_table(table, path)
    html = render_dashboard(compute_stats([path]))
    assert "<b>&evil</b>" not in html and "&lt;b&gt;&amp;evil&lt;/b&gt;" in html


def test_dashboard_names_the_tokenizer(stats):
    assert "<code>word-punct-v1</code>" in render_dashboard(stats, tokenizer="word-punct-v1")


def test_stats_serialise_to_json(stats):
    data = json.loads(json.dumps(stats.to_dict()))
    assert data["overall"]["documents"] == 3 * ROWS_PER_FILE
    assert len(data["histogram_edges"]["total_token_count"]) == MAIN_SIGNALS["total_token_count"].bins + 1


def test_stats_markdown_has_a_row_per_source(stats):
    text = stats_markdown(stats)
    for source in [*SOURCES, "all sources"]:
        assert f"| {source} |" in text
    assert "| total_token_count |" in text
    assert "`total_token_count < 50`" in text
