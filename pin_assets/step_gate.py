"""A hold point for tests that must act while a step provably runs; inert unless a test switches it on.

``tests/test_prod_stack.py`` kills a run's worker while its parse step holds a ``pin_cpu`` pool slot.
Racing a real parse for that is flaky: on a quiet machine a small document is parsed before the test
looks. With ``PIN_TEST_STEP_GATE`` set to a folder (only the tests set it), a step that calls
:func:`hold_if_gated` first checks for ``<folder>/<partition>.<step>.hold``; if the test put it there,
the step writes ``<partition>.<step>.held`` (its pid) and waits until the test removes the ``.hold``
file. The step body only starts once the executor has claimed the step's pool slot, so ``.held``
proves the slot is taken. Without the variable, or without a ``.hold`` file for that step, it returns
at once and does nothing else.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

GATE_ENV = "PIN_TEST_STEP_GATE"
POLL_S = 0.1


def gate_paths(folder: Path, partition: str, step: str) -> tuple[Path, Path]:
    """The ``.hold`` file a test creates and the ``.held`` file the waiting step answers with."""
    stem = f"{partition}.{step}"
    return folder / f"{stem}.hold", folder / f"{stem}.held"


def hold_if_gated(step: str, partition: str) -> None:
    """Wait while a test holds this step of this partition (see the module docstring); else return."""
    folder = os.environ.get(GATE_ENV)
    if not folder:
        return
    hold, held = gate_paths(Path(folder), partition, step)
    if not hold.exists():
        return
    held.write_text(str(os.getpid()))
    while hold.exists():  # released by the test, or the process is killed while waiting
        time.sleep(POLL_S)
