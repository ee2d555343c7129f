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
import sys
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, TimeoutError
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from pin_assets.core import kinds
from pin_assets.core.document import ConversionError
from pin_assets.core.text import clean_text

T = TypeVar("T")
R = TypeVar("R")


MESSAGE_CHARS = 2000
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class TaskFailure:
    """Why a document did not come out of a stage, as plain strings; stored in quarantine as is.

    Workers build it themselves (see :func:`_call_plain`) so that no exception object ever crosses the
    process boundary: MuPDF's exceptions hold SWIG pointers that cannot be pickled, and a failure to
    pickle would replace the real cause with ``TypeError: cannot pickle 'SwigPyObject'``.
    """

    reason: str  # ConversionError.reason, or "timeout", "crashed", "limit", "corrupt", "error"
    error_class: str
    message: str
    location: str = ""  # the last frame in the project's own code: "pin_assets/core/x.py:12 in fn"

    @classmethod
    def from_exception(
        cls, exc: BaseException, *, timeout_s: float | None = None, locate: bool = True
    ) -> TaskFailure:
        """``locate=False`` for failures seen from outside (timeout, dead worker): no frame of theirs is known."""
        reason, message = _classify(exc, timeout_s)
        location = _project_frame(exc) if locate else ""
        return cls(reason, type(exc).__name__, clean_text(message)[:MESSAGE_CHARS], location)


def _classify(exc: BaseException, timeout_s: float | None) -> tuple[str, str]:
    """The quarantine reason and message of an exception; "error" only for what nothing here expects."""
    if isinstance(exc, ConversionError):
        return exc.reason, str(exc)
    if isinstance(exc, TimeoutError):
        limit = f" of {timeout_s:g} s" if timeout_s is not None else ""
        return "timeout", (f"document took longer than the doc_timeout_s limit{limit}; worker killed (raise it, "
                           "or lower ocr_max_page_reads, the OCR work a scanned document may cost)")
    if isinstance(exc, ProcessExpired):
        return "crashed", f"worker process died (exit code {exc.exitcode})"
    if isinstance(exc, MemoryError):
        return "limit", "worker ran out of its memory limit (raise memory_mb)"
    if isinstance(exc, RecursionError):
        return "limit", f"the document nests deeper than the interpreter's recursion limit: {exc}"
    mupdf = _mupdf_reason(exc)
    if mupdf is not None:
        return mupdf, f"MuPDF could not read the document ({type(exc).__name__}): {exc}"
    return "error", str(exc) or repr(exc)


def _mupdf_reason(exc: BaseException) -> str | None:
    """The reason for a MuPDF exception (``pymupdf.mupdf.FzErrorBase`` and its subclasses), else None.

    The mapping lives with the PDF code (:func:`pin_assets.core.pdf.errors.mupdf_reason`); it is only
    consulted when some code in this process has loaded pymupdf, since otherwise no exception can come
    from it (and a worker that converts only HTML never pays for importing it).
    """
    if "pymupdf" not in sys.modules:
        return None
    from pin_assets.core.pdf.errors import mupdf_reason

    return mupdf_reason(exc)


def _project_frame(exc: BaseException) -> str:
    """Where the project's own code was when ``exc`` (or, deeper, its cause) was raised."""
    found = ""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for frame in reversed(traceback.extract_tb(current.__traceback__)):
            path = Path(frame.filename).resolve()
            if path.is_relative_to(_PROJECT_ROOT) and "site-packages" not in path.parts:
                found = f"{path.relative_to(_PROJECT_ROOT).as_posix()}:{frame.lineno} in {frame.name}"
                break
        current = current.__cause__ or current.__context__
    return clean_text(found)


def _call_plain(fn: Callable[..., R], *args: Any) -> R | TaskFailure:
    """Run ``fn`` in the worker and turn any exception into a :class:`TaskFailure` of plain strings there."""
    try:
        return fn(*args)
    except Exception as exc:  # every failure of one document becomes data before it leaves the worker
        return TaskFailure.from_exception(exc)


def _init_worker(memory_mb: int, max_image_pixels: int | None, registrations: tuple = ()) -> None:
    """Cap the worker's address space so a bomb raises MemoryError instead of taking the machine.

    ``registrations`` are the kinds the parent registered at run time (:mod:`pin_assets.core.kinds`): a
    worker starts from a fresh interpreter, so it knows only the built-in kinds until it installs them.

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
    if registrations:
        from pin_assets.core import kinds

        kinds.install(registrations)


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
    The forkserver imports ``fn``'s module before it forks anything, so the workers (and any worker the
    pool replaces after a crash or a timeout) start with the converter loaded instead of importing it
    each. That applies when this process starts its forkserver; a running one keeps what it loaded.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([fn.__module__])
    window = max(1, workers) * 2
    pending: deque[tuple[T, Future]] = deque()
    with ProcessPool(
        max_workers=max(1, workers),
        initializer=_init_worker,
        initargs=(memory_mb, max_image_pixels, kinds.runtime_registrations()),
        context=context,
    ) as pool:
        for item in items:
            pending.append((item, pool.schedule(_call_plain, args=(fn, *args_of(item)), timeout=timeout_s)))
            if len(pending) >= window:
                yield _collect(*pending.popleft(), timeout_s)
        while pending:
            yield _collect(*pending.popleft(), timeout_s)


def _collect(item: T, future: Future, timeout_s: float) -> tuple[T, Any]:
    try:
        return item, future.result()
    except Exception as exc:  # timeouts, dead workers, results that did not pickle: data, not a crash
        return item, TaskFailure.from_exception(exc, timeout_s=timeout_s, locate=False)
