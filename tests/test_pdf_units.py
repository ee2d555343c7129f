"""The olmOCR-bench-style unit tests (bench/pdf_units/cases.jsonl) on our PDF converter, with a floor.

The bench (``python3 -m bench --only units``) compares the same tests against pymupdf4llm and plain
``get_text()``; here only our converter runs, so the test stays fast, and the floor catches a change
that loses tables, lets headers back in or scrambles reading order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.pdf_units import docs
from bench.pdf_units.score import load_cases, passes, score, tables
from pin_assets.core.pdf import pdf_to_markdown
from tests.conftest import corpus_dir

FLOOR = 0.60  # pass rate; the bench section records the measured rate beside pymupdf4llm's


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    corpus_dir("bench")  # skips when the shared corpus is absent
    built = docs.build([c["pdf"] for c in load_cases()], tmp_path_factory.mktemp("units"))
    return {spec: pdf_to_markdown(path.read_bytes()).markdown for spec, path in built.items()}


def test_cases_are_well_formed() -> None:
    cases = load_cases()
    assert len({c["id"] for c in cases}) == len(cases)
    kinds = {c["type"] for c in cases}
    assert kinds == {"present", "absent", "order", "table"}
    for case in cases:
        docs.stem_of(case["pdf"])  # raises on a bad spec


def test_scorer_tells_pass_from_fail() -> None:
    md = "# Results\n\nSome text.\n\n| Method | F1 |\n|---|---|\n| CRF | 77.0 |\n| Ours | 86.9 |\n"
    assert tables(md) == [[["method", "f1"], ["crf", "77.0"], ["ours", "86.9"]]]
    assert passes({"type": "table", "cell": "77.0", "left": "CRF", "down": "86.9", "up": "F1"}, md)
    assert not passes({"type": "table", "cell": "77.0", "right": "CRF"}, md)
    assert passes({"type": "present", "text": "some   TEXT."}, md)
    assert not passes({"type": "absent", "text": "Results"}, md)
    assert passes({"type": "order", "before": "Results", "after": "Some text"}, md)
    assert not passes({"type": "order", "before": "Some text", "after": "Results"}, md)
    assert passes({"type": "present", "text": "Sone text", "max_diffs": 1}, md)


def test_converter_pass_rate_floor(converted: dict[str, str]) -> None:
    result = score(load_cases(), converted)
    assert result.rate >= FLOOR, f"pass rate {result.summary()}; failed: {result.failed}"


def test_documents_are_real(converted: dict[str, str]) -> None:
    """Every test document converts to text; generated pages carry what the cases ask about."""
    assert all(md.strip() for md in converted.values())
    assert "Consolidated income statement" in converted["generated/financial_statement.pdf"]
    assert Path(docs.CORPUS / "bench" / "demo1.pdf").exists()
