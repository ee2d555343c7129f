"""Human views of :class:`pin_assets.core.stats.SignalStats`: an HTML dashboard and Markdown tables.

The dashboard is one self-contained HTML file (inline CSS and SVG, no script, no CDN) because it is
opened from object storage or a laptop folder, often offline, and must look the same years later. It
holds a per-source table in the spirit of PIN's Table 1 (interleaving count and tokens per block), the
share of documents each suggested filter would drop, and one chart per main signal with each source's
histogram drawn as a share of that source's documents, so small and large sources compare.

:func:`stats_markdown` gives the same numbers as Markdown for Dagster's ``MetadataValue.md``.
"""

from __future__ import annotations

from html import escape

from pin_assets.core.stats import GroupStats, SignalStats

# PIN-200M Table 1 (arXiv 2406.13923): mean interleaving count / mean tokens per text block.
PIN_REFERENCE: dict[str, tuple[float, float]] = {
    "arXiv": (8.72, 111.86),
    "PMC": (6.05, 123.59),
    "OBELICS": (1.46, 61.96),
}

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22")
_W, _H = 520, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 12, 14, 34

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;border:1px solid #ddd;padding:6px}figcaption{font-size:13px;font-weight:600}
.legend span{display:inline-block;margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
code{font-size:12px}.filters td:nth-child(2){text-align:left}
"""


def fmt(value: float | int | None) -> str:
    """Compact number for tables: thousands separators for big values, 3 significant digits for small."""
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1:
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def _mean(group: GroupStats, signal: str) -> float | None:
    summary = group.signals.get(signal)
    return summary.mean if summary else None


def _groups(stats: SignalStats) -> list[tuple[str, GroupStats]]:
    return [*stats.per_source.items(), ("all sources", stats.overall)]


# ---------------------------------------------------------------------------------------------------
# HTML


def _table(header: list[str], rows: list[list[str]], css_class: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    attr = f' class="{css_class}"' if css_class else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _source_table(stats: SignalStats) -> str:
    header = ["source", "documents", "ITIF (mean interleaving)", "avg tokens / text block", "tokens / doc",
              "text blocks / doc", "images / doc", "dropped by any filter"]
    signals = ("image_text_interleaving_count", "avg_tokens_per_text_block", "total_token_count",
               "text_block_count", "image_count")
    rows = [[escape(name), fmt(g.documents), *(fmt(_mean(g, s)) for s in signals),
             _pct(g.any_filter_drop_share)] for name, g in _groups(stats)]
    return _table(header, rows)


def _reference_table() -> str:
    rows = [[escape(src), f"{itif:.2f}", f"{tokens:.2f}"] for src, (itif, tokens) in PIN_REFERENCE.items()]
    return _table(["PIN-200M source", "ITIF", "avg tokens / text block"], rows)


def _filter_table(stats: SignalStats) -> str:
    groups = _groups(stats)
    header = ["filter", "drops documents where", *(name for name, _ in groups)]
    rows = [[escape(f.name), f"<code>{escape(f.drop_if)}</code><br>{escape(f.why)}",
             *(_pct(g.filter_drop_share.get(f.name, 0.0)) for _, g in groups)] for f in stats.filters]
    return _table(header, rows, "filters")


def _quantile_table(stats: SignalStats) -> str:
    header = ["signal (all sources)", "n", "mean", "p5", "p25", "p50", "p75", "p95"]
    rows = []
    for name, s in stats.overall.signals.items():
        rows.append([escape(name), fmt(s.count), fmt(s.mean), fmt(s.p5), fmt(s.p25), fmt(s.p50), fmt(s.p75),
                     fmt(s.p95)])
    return _table(header, rows)


def _step_path(shares: list[float], y_max: float) -> str:
    """An outline of the histogram bars as one SVG path (steps read better than overlapping bars)."""
    width = (_W - _LEFT - _RIGHT) / len(shares)
    base = _H - _BOTTOM

    def y(share: float) -> float:
        return base - (base - _TOP) * (share / y_max if y_max else 0.0)

    parts = [f"M{_LEFT:.1f},{base:.1f}"]
    for i, share in enumerate(shares):
        parts.append(f"V{y(share):.1f}H{_LEFT + (i + 1) * width:.1f}")
    parts.append(f"V{base:.1f}")
    return "".join(parts)


def _axes(edges: list[float], y_max: float) -> str:
    base, right = _H - _BOTTOM, _W - _RIGHT
    out = [f'<line x1="{_LEFT}" y1="{base}" x2="{right}" y2="{base}" stroke="#555"/>',
           f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{base}" stroke="#555"/>',
           f'<text x="{_LEFT - 4}" y="{_TOP + 4}" text-anchor="end" font-size="10">{_pct(y_max)}</text>',
           f'<text x="{_LEFT - 4}" y="{base}" text-anchor="end" font-size="10">0</text>']
    bins = len(edges) - 1
    for i in sorted({0, bins // 4, bins // 2, 3 * bins // 4, bins}):
        x = _LEFT + (_W - _LEFT - _RIGHT) * i / bins
        label = ("\u2265" if i == bins else "") + fmt(edges[i])
        anchor = "start" if i == 0 else "end" if i == bins else "middle"
        out.append(f'<text x="{x:.1f}" y="{base + 14}" text-anchor="{anchor}" font-size="10">'
                   f"{escape(label)}</text>")
    out.append(f'<text x="{(_LEFT + right) / 2:.0f}" y="{_H - 4}" text-anchor="middle" font-size="10">'
               "share of the source's documents per bin (last bin: at or above its left edge)</text>")
    return "".join(out)


def _chart(signal: str, stats: SignalStats, colors: dict[str, str]) -> str:
    series = []
    for source, group in stats.per_source.items():
        counts = group.histograms.get(signal, [])
        total = sum(counts)
        series.append((source, [c / total if total else 0.0 for c in counts]))
    y_max = max((max(shares, default=0.0) for _, shares in series), default=0.0) or 1.0
    paths = "".join(
        f'<path d="{_step_path(shares, y_max)}" fill="none" stroke="{colors[src]}" stroke-width="1.5">'
        f"<title>{escape(src)}</title></path>" for src, shares in series)
    svg = (f'<svg class="chart" data-signal="{escape(signal)}" xmlns="http://www.w3.org/2000/svg" '
           f'width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(signal)}">'
           f"<title>{escape(signal)}</title>{_axes(stats.histogram_edges[signal], y_max)}{paths}</svg>")
    return f"<figure><figcaption>{escape(signal)}</figcaption>{svg}</figure>"


def _legend(colors: dict[str, str]) -> str:
    items = "".join(f'<span><i style="background:{c}"></i>{escape(s)}</span>' for s, c in colors.items())
    return f'<p class="legend">{items}</p>'


def render_dashboard(
    stats: SignalStats, title: str = "PIN quality signals", tokenizer: str | None = None
) -> str:
    """The whole dashboard as one HTML document (no external resources).

    ``tokenizer`` is the name of the tokenizer behind the token counts; it is printed because token
    counts from different tokenizers are not comparable.
    """
    colors = {src: _PALETTE[i % len(_PALETTE)] for i, src in enumerate(stats.per_source)}
    charts = "".join(_chart(signal, stats, colors) for signal in stats.signals)
    token_note = f" Tokens counted with <code>{escape(tokenizer)}</code>." if tokenizer else ""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_CSS}</style></head><body><h1>{escape(title)}</h1>"
        f"<p>{fmt(stats.overall.documents)} documents from {len(stats.per_source)} source(s). "
        f"Quantiles: <code>{escape(stats.quantile_method)}</code>.{token_note}</p>"
        f"<h2>Per source</h2>{_source_table(stats)}"
        f"<h2>PIN-200M reference (Table 1)</h2>{_reference_table()}"
        f"<h2>Suggested filters: share of documents dropped</h2>{_filter_table(stats)}"
        f"<h2>Distributions</h2>{_quantile_table(stats)}{_legend(colors)}"
        f'<div class="charts">{charts}</div></body></html>\n'
    )


# ---------------------------------------------------------------------------------------------------
# Markdown


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), "| " + " | ".join("---" for _ in header) + " |", *map(line, rows)])


def stats_markdown(stats: SignalStats) -> str:
    """Per-source table, overall quantiles and filter shares as Markdown (for Dagster metadata)."""
    groups = _groups(stats)
    sources = _md_table(
        ["source", "documents", "ITIF", "avg tokens / block", "tokens / doc", "images / doc",
         "dropped (any)"],
        [[name, fmt(g.documents), fmt(_mean(g, "image_text_interleaving_count")),
          fmt(_mean(g, "avg_tokens_per_text_block")), fmt(_mean(g, "total_token_count")),
          fmt(_mean(g, "image_count")), _pct(g.any_filter_drop_share)] for name, g in groups])
    quantiles = _md_table(
        ["signal", "mean", "p5", "p25", "p50", "p75", "p95"],
        [[name, fmt(s.mean), fmt(s.p5), fmt(s.p25), fmt(s.p50), fmt(s.p75), fmt(s.p95)]
         for name, s in stats.overall.signals.items()])
    filters = _md_table(
        ["filter", "drops where", *(name for name, _ in groups)],
        [[f.name, f"`{f.drop_if}`", *(_pct(g.filter_drop_share.get(f.name, 0.0)) for _, g in groups)]
         for f in stats.filters])
    return (f"### Per source\n\n{sources}\n\n### All sources\n\n{quantiles}\n\n"
            f"### Suggested filters (share dropped)\n\n{filters}\n")
