"""Score Markdown against olmOCR-bench-style unit tests.

The semantics follow the published olmOCR-bench test kinds: text is compared after normalization
(Unicode NFKC, Markdown marks, links, images and HTML tags removed, quotes and dashes unified,
whitespace collapsed, case folded), with an optional edit budget ``max_diffs``; a ``table`` test looks
for a cell in any GFM or HTML table of the Markdown and checks the neighbours it names. A test passes
or fails; nothing is partial.
"""

from __future__ import annotations

import difflib
import html
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import regex

CASES = Path(__file__).with_name("cases.jsonl")
KINDS = ("present", "absent", "order", "table")
_NEIGHBOURS = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


def load_cases(path: Path = CASES) -> list[dict]:
    """The tests, one JSON object a line (split on ``\\n`` only)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def normalize(text: str) -> str:
    """Text as the tests compare it: what a reader sees, without Markdown syntax or typography."""
    text = html.unescape(unicodedata.normalize("NFKC", text))
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>])", r"\1", text)
    text = re.sub(r"[*_`#>|]+", " ", text)
    text = text.replace("\u00ad", "")
    text = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)
    text = re.sub(r"[\u2018\u2019\u2032]", "'", text)
    text = re.sub(r"[\u201c\u201d\u2033]", '"', text)
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    return re.sub(r"\s+", " ", text).strip().casefold()


def locate(needle: str, haystack: str, max_diffs: int = 0) -> int | None:
    """Where the normalized ``needle`` starts in the normalized ``haystack``, or None."""
    pattern = normalize(needle)
    if not pattern:
        return None
    if max_diffs <= 0:
        index = haystack.find(pattern)
        return index if index >= 0 else None
    match = regex.search(f"(?:{regex.escape(pattern)}){{e<={max_diffs}}}", haystack, flags=regex.BESTMATCH)
    return match.start() if match else None


def tables(markdown: str) -> list[list[list[str]]]:
    """Every GFM pipe table and HTML table as a grid of normalized cell texts (HTML spans not expanded)."""
    grids: list[list[list[str]]] = []
    block: list[str] = []
    for line in [*markdown.split("\n"), ""]:
        if line.strip().startswith("|"):
            block.append(line)
            continue
        if len(block) >= 2:
            grid = []
            for row in block:
                cells = re.split(r"(?<!\\)\|", row.strip().strip("|"))
                if all(re.fullmatch(r"\s*:?-{3,}:?\s*", c) for c in cells):
                    continue
                grid.append([normalize(c) for c in cells])
            grids.append(grid)
        block = []
    for table in re.findall(r"<table.*?</table>", markdown, flags=re.S | re.I):
        grid = [[normalize(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S | re.I)]
                for row in re.findall(r"<tr.*?</tr>", table, flags=re.S | re.I)]
        grids.append(grid)
    return grids


def _same_cell(got: str, want: str) -> bool:
    return got == want or (len(want) > 3 and difflib.SequenceMatcher(None, got, want).ratio() >= 0.9)


def _table_passes(case: dict, grids: list[list[list[str]]]) -> bool:
    want = normalize(case["cell"])
    for grid in grids:
        for r, row in enumerate(grid):
            for c, value in enumerate(row):
                if not _same_cell(value, want):
                    continue
                ok = True
                for key, (dr, dc) in _NEIGHBOURS.items():
                    if case.get(key):
                        rr, cc = r + dr, c + dc
                        ok &= 0 <= rr < len(grid) and 0 <= cc < len(grid[rr]) and _same_cell(
                            grid[rr][cc], normalize(case[key]))
                if case.get("top_heading"):
                    ok &= bool(grid) and c < len(grid[0]) and _same_cell(grid[0][c], normalize(case["top_heading"]))
                if case.get("left_heading"):
                    ok &= _same_cell(row[0], normalize(case["left_heading"]))
                if ok:
                    return True
    return False


def passes(case: dict, markdown: str) -> bool:
    """Whether one test passes on the Markdown of its document."""
    text = normalize(markdown)
    diffs = int(case.get("max_diffs", 0))
    kind = case["type"]
    if kind == "present":
        return locate(case["text"], text, diffs) is not None
    if kind == "absent":
        return locate(case["text"], text, diffs) is None
    if kind == "order":
        before, after = locate(case["before"], text, diffs), locate(case["after"], text, diffs)
        return before is not None and after is not None and before < after
    if kind == "table":
        return _table_passes(case, tables(markdown))
    raise ValueError(f"unknown test type {kind!r} in {case.get('id')}")


@dataclass(frozen=True)
class Result:
    """Pass counts per kind, and the ids that failed."""

    passed: dict[str, int]
    total: dict[str, int]
    failed: list[str]

    @property
    def rate(self) -> float:
        return sum(self.passed.values()) / max(sum(self.total.values()), 1)

    def kind_rate(self, kind: str) -> float:
        return self.passed.get(kind, 0) / max(self.total.get(kind, 0), 1)

    def summary(self) -> str:
        kinds = " ".join(f"{k} {self.passed.get(k, 0)}/{self.total[k]}" for k in KINDS if k in self.total)
        return f"{sum(self.passed.values())}/{sum(self.total.values())} ({100 * self.rate:.1f}%): {kinds}"


def score(cases: Iterable[dict], markdown_of: dict[str, str]) -> Result:
    """Run every case on the Markdown of its document (``markdown_of[case["pdf"]]``, "" if missing)."""
    passed: dict[str, int] = {}
    total: dict[str, int] = {}
    failed: list[str] = []
    for case in cases:
        kind = case["type"]
        total[kind] = total.get(kind, 0) + 1
        if passes(case, markdown_of.get(case["pdf"], "")):
            passed[kind] = passed.get(kind, 0) + 1
        else:
            failed.append(case["id"])
    return Result(passed, total, failed)
