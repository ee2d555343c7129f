"""One document's failure, hang or crash never stops the others, and each gets its own reason."""

from __future__ import annotations

from pin_assets.core.isolation import TaskFailure, run_isolated
from tests.workers import behave


def test_failures_are_isolated_and_ordered() -> None:
    items = ["ok", "sleep", "ok", "crash", "refuse", "boom", "memory", "ok"]
    results = list(
        run_isolated(behave, items, args_of=lambda k: (k,), workers=2, timeout_s=2.0, memory_mb=1024)
    )
    assert [item for item, _ in results] == items  # input order kept
    outcome = {item: result for item, result in results}
    assert [r for i, r in results if i == "ok"] == ["done"] * 3
    assert outcome["sleep"] == TaskFailure("timeout", "TimeoutError", outcome["sleep"].message)
    assert outcome["crash"].reason == "crashed"
    assert outcome["refuse"] == TaskFailure("encrypted", "ConversionError", "needs a password")
    assert outcome["boom"].reason == "error" and "bad input boom" in outcome["boom"].message
    assert outcome["memory"].reason == "limit"
