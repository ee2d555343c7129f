"""How a run executes its steps: the executor, chosen here from the environment like the store.

Every step runs in its own process, so a step that crashes (a segfault in a native library, the OOM
killer) fails that step and the run reports it; it does not take the run down. The documents inside a
step are isolated once more by the parse and render pools (``core/isolation.py``).

Those step processes start from a **forkserver** that imported ``pin_assets.definitions`` (and, through
it, Dagster and the project) and the converters (``pin_assets.core.convert``: PyMuPDF and every format's
reader, which the definitions leave to the steps) once per run: each step is a ``fork()`` of that warm
process instead of a fresh interpreter that imports the world again. The forkserver is a single-threaded
process made for forking, unlike the run process itself, which holds gRPC and database threads, so
``fork`` there stays safe. ``PIN_STEP_START_METHOD=spawn`` goes back to a fresh interpreter per step
(Dagster's default).

Environment variables read by :func:`executor_from_env`:

``PIN_EXECUTOR`` (``multiprocess``)
    The executor. The multi-host executor of issue 28 (Celery) is to be added here, as another value.
``PIN_STEP_START_METHOD`` (``forkserver`` | ``spawn``)
    How step processes start (see above).
``PIN_STEP_PRELOAD`` (comma-separated modules, default :data:`PRELOAD`)
    What the forkserver imports before it forks steps.
``PIN_MAX_CONCURRENT_STEPS`` (default :data:`DEFAULT_MAX_CONCURRENT`)
    Steps of one run at once. The CPU-heavy ones are bounded across runs by the ``pin_cpu`` pool
    (docs/production.md); this lets the light ones (signals, the RealSyn corpus, checks) run beside them.
"""

from __future__ import annotations

import os

from dagster import ExecutorDefinition, multiprocess_executor

EXECUTORS = ("multiprocess",)
START_METHODS = ("forkserver", "spawn")
PRELOAD = ("pin_assets.definitions", "pin_assets.core.convert")  # parse, render, export and checks use both
DEFAULT_MAX_CONCURRENT = 2


def executor_from_env() -> ExecutorDefinition:
    """The executor the environment asks for; a wrong value fails the code location with its name."""
    kind = os.environ.get("PIN_EXECUTOR", "multiprocess")
    if kind not in EXECUTORS:
        raise ValueError(f"PIN_EXECUTOR={kind!r}: expected one of {', '.join(EXECUTORS)}")
    return multiprocess_executor.configured(multiprocess_config())


def multiprocess_config() -> dict[str, object]:
    """``multiprocess_executor``'s config from ``PIN_STEP_START_METHOD``, ``PIN_STEP_PRELOAD`` and limits."""
    method = os.environ.get("PIN_STEP_START_METHOD", "forkserver")
    if method not in START_METHODS:
        raise ValueError(f"PIN_STEP_START_METHOD={method!r}: expected one of {', '.join(START_METHODS)}")
    raw = os.environ.get("PIN_MAX_CONCURRENT_STEPS", str(DEFAULT_MAX_CONCURRENT))
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"PIN_MAX_CONCURRENT_STEPS={raw!r}: expected a whole number of 1 or more")
    start: dict[str, object] = {"spawn": {}}
    if method == "forkserver":
        preload = os.environ.get("PIN_STEP_PRELOAD", ",".join(PRELOAD))
        start = {"forkserver": {"preload_modules": [m.strip() for m in preload.split(",") if m.strip()]}}
    return {"max_concurrent": int(raw), "start_method": start}
