"""One document's failure, hang or crash never stops the others, and each gets its own reason."""

from __future__ import annotations

import pickle

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
    assert outcome["crash"].reason == "crashed" and outcome["crash"].location == ""
    refuse = outcome["refuse"]
    assert (refuse.reason, refuse.error_class, refuse.message) == ("encrypted", "ConversionError", "needs a password")
    assert refuse.location.startswith("tests/workers.py:") and refuse.location.endswith(" in behave")
    assert outcome["boom"].reason == "error" and "bad input boom" in outcome["boom"].message
    assert outcome["memory"].reason == "limit"


def test_unpicklable_exceptions_arrive_as_plain_values() -> None:
    """A MuPDF exception (SWIG pointers inside) and any exception pickle refuses reach the parent as their
    own class, message and place, never as ``TypeError: cannot pickle``; a lone surrogate is replaced."""
    results = dict(run_isolated(behave, ["mupdf", "unpicklable"], args_of=lambda k: (k,), workers=1, timeout_s=20))
    mupdf = results["mupdf"]
    assert (mupdf.reason, mupdf.error_class) == ("corrupt", "FzErrorArgument"), mupdf
    assert "color and mask pixmaps must be the same size" in mupdf.message
    assert mupdf.location.startswith("tests/workers.py:") and mupdf.location.endswith(" in behave")
    other = results["unpicklable"]
    assert (other.reason, other.error_class) == ("error", "_Unpicklable"), other
    assert other.message == "native handle \ufffd in the message"
    assert "pickle" not in mupdf.message + other.message
    for failure in results.values():
        assert pickle.loads(pickle.dumps(failure)) == failure
        failure.message.encode("utf-8")
