"""Run one function per document in a pool of worker processes, each document isolated.

A document that raises, runs past its timeout, or kills its worker (segfault in a native parser,
out-of-memory) becomes a :class:`TaskFailure` with a reason; the pool replaces the worker and the
batch goes on. Pebble's ``ProcessPool`` gives exactly these semantics (a per-task timeout that kills
the worker, ``ProcessExpired`` for a dead worker), which ``concurrent.futures`` does not: there one
dead worker breaks the whole pool.

Results are yielded in input order with a bounded number of documents in flight, so output files are
deterministic and memory stays flat however large the batch.
"""

from __future__ import annotations

import multiprocessing
import resource
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, TimeoutError
from dataclasses import dataclass
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from pin_assets.core.document import ConversionError

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class TaskFailure:
    """Why a document did not come out of a stage; stored in quarantine as is."""

    reason: str  # ConversionError.reason, or "timeout", "crashed", "error"
    error_class: str
    message: str

    @classmethod
    def from_exception(cls, exc: BaseException, *, timeout_s: float | None = None) -> TaskFailure:
        if isinstance(exc, ConversionError):
            return cls(exc.reason, type(exc).__name__, str(exc))
        if isinstance(exc, TimeoutError):
            return cls("timeout", "TimeoutError",
                       f"document took longer than the doc_timeout_s limit of {timeout_s:g} s; worker killed")
        if isinstance(exc, ProcessExpired):
            return cls("crashed", "ProcessExpired", f"worker process died (exit code {exc.exitcode})")
        if isinstance(exc, MemoryError):
            return cls("limit", "MemoryError", "worker ran out of its memory limit")
        return cls("error", type(exc).__name__, str(exc) or repr(exc))


def _init_worker(memory_mb: int, max_image_pixels: int | None) -> None:
    """Cap the worker's address space so a bomb raises MemoryError instead of taking the machine.

    Pillow's decompression-bomb guard is tied to the same pixel limit the converters check: it warns
    above ``Image.MAX_IMAGE_PIXELS`` and refuses above twice that inside ``Image.open``, so any image
    opened in a worker (even by code that forgets the explicit check) cannot allocate far past the limit.
    """
    if memory_mb > 0:
        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if max_image_pixels:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = max_image_pixels


def run_isolated(
    fn: Callable[..., R],
    items: Iterable[T],
    *,
    args_of: Callable[[T], tuple[Any, ...]],
    workers: int,
    timeout_s: float,
    memory_mb: int = 0,
    max_image_pixels: int | None = None,
) -> Iterator[tuple[T, R | TaskFailure]]:
    """Apply ``fn(*args_of(item))`` to each item in worker processes; yield ``(item, result or failure)``.

    ``memory_mb`` caps each worker's address space; ``max_image_pixels`` becomes Pillow's bomb limit there.

    ``fn`` must be a module-level function (it is pickled to the workers). Workers are started with
    ``forkserver``: forking the Dagster run process itself, which holds threads and locks, is unsafe.
    """
    context = multiprocessing.get_context("forkserver")
    window = max(1, workers) * 2
    pending: deque[tuple[T, Future]] = deque()
    with ProcessPool(
        max_workers=max(1, workers),
        initializer=_init_worker,
        initargs=(memory_mb, max_image_pixels),
        context=context,
    ) as pool:
        for item in items:
            pending.append((item, pool.schedule(fn, args=args_of(item), timeout=timeout_s)))
            if len(pending) >= window:
                yield _collect(*pending.popleft(), timeout_s)
        while pending:
            yield _collect(*pending.popleft(), timeout_s)


def _collect(item: T, future: Future, timeout_s: float) -> tuple[T, Any]:
    try:
        return item, future.result()
    except Exception as exc:  # every failure mode of one document is data, not a crash of the batch
        return item, TaskFailure.from_exception(exc, timeout_s=timeout_s)
