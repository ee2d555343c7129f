"""Web pages to Markdown: this project against trafilatura on ``corpus/web``, in the same run.

    python3 -m bench --only web                 as a section of the benchmark (writes its RESULTS.md section)
    python3 -m bench.web [CORPUS_WEB_DIR] [--report DIR] [--runs N]

Uses ``corpus/web`` (250 real pages with ``evaldata.json``) and the scorer's rules (``tools/score_web.py``:
snippets that must / must not appear, Markdown marks removed). trafilatura runs as a user would call it for
Markdown with images, tables and formatting (``extract(..., output_format="markdown", include_images=True,
include_tables=True, include_formatting=True)``, so with its default ``include_comments=True``), and once
more with comments off, the project's default, for the text comparison.

Besides speed and snippet F1 it writes the disagreement report: per page, the text this project emits that
trafilatura (comments off) does not, and the reverse, as runs of words (``disagreements.jsonl`` in
``--report DIR``), with a summary of pages and characters each way.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.report import Row, markdown_table

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "web"
HEADING = "Web pages (`python3 -m bench --only web`)"
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_WORDS = re.compile(r"\w+|[^\w\s]")


def text_of(md: str) -> str:
    """Markdown as the scorer reads it (tools/score_web.py): images, links, HTML tags, emphasis and block
    markers removed, whitespace collapsed."""
    md = _IMAGE.sub(" ", md)
    md = re.sub(r"<img[^>]*>", " ", md)
    md = re.sub(r"\[([^\]]*)\]\(([^)]*)\)", r"\1 \2", md)
    md = re.sub(r"<[^>]+>", " ", md)
    md = re.sub(r"(\*\*|__|\*|_|`|~~)", "", md)
    md = re.sub(r"^\s{0,3}(#{1,6}|>|[-+*]|\d+[.)])\s+", "", md, flags=re.M)
    return " ".join(md.replace("|", " ").replace("\u00a0", " ").split())


def _readable(md: str) -> str:
    """Markdown without what is markup in either writer: backslash escapes, table rules, quote marks."""
    md = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|>~<])", r"\1", md)
    md = re.sub(r"^\s*\|?(\s*:?-{3,}:?\s*\|)+\s*$", " ", md, flags=re.M)
    return re.sub(r"^(\s*>)+", " ", md, flags=re.M)


def disagreement(ours: str, theirs: str) -> tuple[list[str], list[str]]:
    """Runs of words and punctuation marks (as the scorer reads the text) only ``ours`` has, and only
    ``theirs`` has; spacing around punctuation is no disagreement."""
    a, b = _WORDS.findall(text_of(_readable(ours))), _WORDS.findall(text_of(_readable(theirs)))
    only_ours, only_theirs = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op in ("replace", "delete"):
            only_ours.append(" ".join(a[i1:i2]))
        if op in ("replace", "insert"):
            only_theirs.append(" ".join(b[j1:j2]))
    return only_ours, only_theirs


@dataclass
class Page:
    url: str
    item: dict
    data: bytes


@dataclass
class Tool:
    name: str
    convert: Callable[[Page], str | None]
    wall: float = 0.0
    cpu: float = 0.0

    def timed(self, page: Page) -> str | None:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return self.convert(page)
        finally:
            self.wall += time.perf_counter() - wall
            self.cpu += time.process_time() - cpu


def _ours(page: Page) -> str | None:
    from pin_assets.core.document import ConversionError
    from pin_assets.core.html.markdown import html_to_markdown

    try:
        return html_to_markdown(page.data, url=page.url).markdown
    except ConversionError:
        return None


def _trafilatura(comments: bool) -> Callable[[Page], str | None]:
    def convert(page: Page) -> str | None:
        import trafilatura

        return trafilatura.extract(page.data, url=page.url, output_format="markdown", include_images=True,
                                   include_tables=True, include_formatting=True, include_comments=comments)

    return convert


def _score(pages: list[Page], outputs: list[str | None]) -> tuple[float, float, float, int]:
    tp = fn = fp = lost = 0
    for page, md in zip(pages, outputs, strict=True):
        text = text_of(md) if md else ""
        lost += not md
        found = [" ".join(s.split()) in text for s in page.item.get("with", [])]
        tp += sum(found)
        fn += len(found) - sum(found)
        fp += sum(" ".join(s.split()) in text for s in page.item.get("without", []))
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return p, r, 2 * p * r / max(1e-9, p + r), lost


def run(
    corpus: Path, runs: int, warmup: int, report: Path | None, limit: int | None = None
) -> tuple[list[Row], list[str]]:
    """Rows for the web section: speed (median of ``runs`` after ``warmup``, pages interleaved between
    the contenders), snippet F1, image pages and the disagreement summary."""
    evaldata = json.loads((corpus / "evaldata.json").read_text(encoding="utf-8"))
    pages = [Page(url, item, (corpus / "pages" / item["file"]).read_bytes()) for url, item in evaldata.items()]
    pages = pages[:limit] if limit else pages
    ours, theirs = Tool("pin-factory", _ours), Tool("trafilatura", _trafilatura(True))
    ratios_wall, ratios_cpu, rates = [], [], []
    for tool in (ours, theirs):  # imports and first-use set-up (justext's stop lists) stay out of the timing
        tool.convert(pages[0])
    outputs: dict[str, list[str | None]] = {}
    for number in range(warmup + runs):
        ours.wall = ours.cpu = theirs.wall = theirs.cpu = 0.0
        results: dict[str, list[str | None]] = {ours.name: [], theirs.name: []}
        for page in pages:
            for tool in (ours, theirs) if number % 2 == 0 else (theirs, ours):
                results[tool.name].append(tool.timed(page))
        outputs = results
        if number >= warmup:
            ratios_wall.append(theirs.wall / ours.wall)
            ratios_cpu.append(theirs.cpu / ours.cpu)
            rates.append((len(pages) / ours.wall, len(pages) / theirs.wall, len(pages) / ours.cpu,
                          len(pages) / theirs.cpu))
    plain = [_trafilatura(False)(page) for page in pages]
    rows = _speed_rows(rates, ratios_wall, ratios_cpu, len(pages))
    scored = {
        "pin-factory": _score(pages, outputs[ours.name]),
        "trafilatura (defaults: comments on)": _score(pages, outputs[theirs.name]),
        "trafilatura (comments off)": _score(pages, plain),
    }
    for name, (p, r, f1, lost) in scored.items():
        rows.append(Row(f"web F1: {name}", f1, "F1", f"precision {p:.3f}, recall {r:.3f}, {lost} pages without "
                        "output", ">= trafilatura's" if name == "pin-factory" else "",
                        f1 >= scored["trafilatura (defaults: comments on)"][2] - 1e-9 if name == "pin-factory"
                        else None))
    image_pages = sum(1 for md in outputs[ours.name] if md and re.search(r"\]\((content|missing)_image/", md))
    their_image_pages = sum(1 for md in outputs[theirs.name] if md and _IMAGE.search(md))
    rows.append(Row("web image pages: pin-factory", image_pages, "pages", "pages with a main-content image "
                    "reference (fetched or missing form), fetching off", f">= trafilatura's ({their_image_pages})",
                    image_pages >= their_image_pages))
    rows.append(Row("web image pages: trafilatura", their_image_pages, "pages", "pages where it places an image"))
    rows += _disagreement_rows(pages, outputs[ours.name], plain, report)
    notes = [f"{len(pages)} pages of {corpus}; speed: median of {runs} run(s) after {warmup} warm-up, pages "
             "interleaved between the two (the order flips each run), one process; CPU time beside wall time "
             "because the machine is shared"]
    if report:
        notes.append(f"disagreement report: {report / 'disagreements.jsonl'}")
    return rows, notes


def _speed_rows(rates: list[tuple[float, ...]], wall: list[float], cpu: list[float], n: int) -> list[Row]:
    ours_wall, theirs_wall, ours_cpu, theirs_cpu = (statistics.median(r[i] for r in rates) for i in range(4))
    ratio_wall, ratio_cpu = statistics.median(wall), statistics.median(cpu)
    return [
        Row("web: pin-factory html_to_markdown", ours_wall, "pages/s", f"wall; {ours_cpu:.1f} pages/s of CPU"),
        Row("web: trafilatura extract (markdown)", theirs_wall, "pages/s", f"wall; {theirs_cpu:.1f} pages/s of CPU"),
        Row("web: pin vs trafilatura speed", ratio_wall, "x", f"wall time ratio; CPU time ratio {ratio_cpu:.2f}",
            ">= 0.8", ratio_wall >= 0.8),
    ]


def _disagreement_rows(pages: list[Page], ours: list[str | None], theirs: list[str | None],
                       report: Path | None) -> list[Row]:
    entries = []
    for page, mine, other in zip(pages, ours, theirs, strict=True):
        only_ours, only_theirs = disagreement(mine or "", other or "")
        entries.append({"file": page.item["file"], "url": page.url,
                        "ours_only_chars": sum(map(len, only_ours)), "theirs_only_chars": sum(map(len, only_theirs)),
                        "ours_only": only_ours, "theirs_only": only_theirs})
    if report:
        report.mkdir(parents=True, exist_ok=True)
        with (report / "disagreements.jsonl").open("w", encoding="utf-8") as out:
            for entry in entries:
                out.write(json.dumps(entry, ensure_ascii=False) + "\n")
    total = sum(len(text_of(md or "")) for md in theirs)
    ours_pages = sum(1 for e in entries if e["ours_only_chars"])
    theirs_pages = sum(1 for e in entries if e["theirs_only_chars"])
    ours_chars = sum(e["ours_only_chars"] for e in entries)
    theirs_chars = sum(e["theirs_only_chars"] for e in entries)
    return [
        Row("web disagreement: text only pin-factory emits", ours_chars, "chars",
            f"{ours_pages} of {len(pages)} pages; trafilatura (comments off) emits {total:,} chars in all"),
        Row("web disagreement: text only trafilatura emits", theirs_chars, "chars",
            f"{theirs_pages} of {len(pages)} pages"),
    ]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench.web", description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=CORPUS)
    parser.add_argument("--report", type=Path, default=None, help="folder for disagreements.jsonl")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    rows, notes = run(args.corpus, args.runs, 1, args.report)
    print(markdown_table(rows))
    for note in notes:
        print(f"- {note}")


if __name__ == "__main__":
    main(sys.argv[1:])
