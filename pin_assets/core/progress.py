"""Progress of long stages: items done of total, rate and time left, as text lines, never as bars.

A stage creates one :class:`Progress` and calls :meth:`Progress.advance` per document. Where the numbers
go is decided by sinks, so the stage code is the same in a terminal and in Dagster:

* :class:`LogSink` writes a log line every N items (and at the end) through any logger with ``info``,
  such as a Dagster ``context.log``: run logs are read later, so they get sparse, complete lines;
* :class:`TerminalLine` redraws one live line per stage, and only when its stream is a terminal, so
  piped or captured output never fills with carriage returns or bars.

The CLI installs a terminal line for the duration of a command (:func:`terminal_progress`); every
``Progress`` created meanwhile reports to it as well as to its own sinks. Nothing here imports Dagster.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import Protocol, TextIO

DEFAULT_LOG_EVERY = 100
LOG_EVERY_ENV = "PIN_PROGRESS_EVERY"
LOG_INTERVAL_S = 60.0  # a slow stage still logs about once a minute between every-N lines


class Sink(Protocol):
    def update(self, progress: Progress) -> None: ...
    def finish(self, progress: Progress) -> None: ...


class InfoLogger(Protocol):
    def info(self, msg: str) -> None: ...


_GLOBAL_SINKS: list[Sink] = []


def log_every() -> int:
    """Items between two progress log lines: ``$PIN_PROGRESS_EVERY``, default 100."""
    value = os.environ.get(LOG_EVERY_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_LOG_EVERY


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Progress:
    """Counts the items of one stage and tells its sinks; ``total`` may be unknown (a streamed source)."""

    def __init__(self, stage: str, total: int | None, *, unit: str = "documents", sinks: tuple[Sink, ...] = ()):
        self.stage = stage
        self.total = total
        self.unit = unit
        self.done = 0
        self.started = time.monotonic()
        self.finished = False
        self._sinks = (*sinks, *_GLOBAL_SINKS)
        for sink in self._sinks:
            sink.update(self)

    def advance(self, count: int = 1) -> None:
        self.done += count
        for sink in self._sinks:
            sink.update(self)

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        for sink in self._sinks:
            sink.finish(self)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        """Items per second so far (0 before the first item)."""
        elapsed = self.elapsed_s
        return self.done / elapsed if self.done and elapsed > 0 else 0.0

    @property
    def remaining_s(self) -> float | None:
        """Time left at the current rate; None while the total or the rate is unknown."""
        if self.total is None or not self.rate:
            return None
        return max(0, self.total - self.done) / self.rate

    def describe(self) -> str:
        """``parse: 12/40 documents, 3.1/s, 9 s left`` while running; ``... in 13 s`` when finished."""
        count = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        head = f"{self.stage}: {count} {self.unit}"
        parts = [f"{head} in {format_duration(self.elapsed_s)}" if self.finished else head]
        if self.rate:
            parts.append(f"{self.rate:.1f}/s")
        if not self.finished and self.remaining_s is not None:
            parts.append(f"{format_duration(self.remaining_s)} left")
        return ", ".join(parts)


class LogSink:
    """One log line every ``every`` items, or after ``interval_s`` without one, and one at the end."""

    def __init__(self, log: InfoLogger, every: int | None = None, interval_s: float = LOG_INTERVAL_S):
        self.log = log
        self.every = every or log_every()
        self.interval_s = interval_s
        self._logged_at = 0
        self._logged_time = time.monotonic()

    def update(self, progress: Progress) -> None:
        due = progress.done - self._logged_at >= self.every
        stale = progress.done > self._logged_at and time.monotonic() - self._logged_time >= self.interval_s
        if due or stale:
            self._emit(progress)

    def finish(self, progress: Progress) -> None:
        self._emit(progress)

    def _emit(self, progress: Progress) -> None:
        self._logged_at = progress.done
        self._logged_time = time.monotonic()
        self.log.info(progress.describe())


class TerminalLine:
    """A live line per stage on a terminal: redrawn in place at most every ``min_interval_s``, kept at the end."""

    def __init__(self, stream: TextIO, min_interval_s: float = 0.2):
        self.stream = stream
        self.min_interval_s = min_interval_s
        self._drawn_at = 0.0

    def update(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self._drawn_at >= self.min_interval_s or progress.done == progress.total:
            self._drawn_at = now
            self.stream.write(f"\r{progress.describe()}\x1b[K")
            self.stream.flush()

    def finish(self, progress: Progress) -> None:
        self.stream.write(f"\r{progress.describe()}\x1b[K\n")
        self.stream.flush()
        self._drawn_at = 0.0

    def clear(self) -> None:
        self.stream.write("\r\x1b[K")
        self.stream.flush()
        self._drawn_at = 0.0


def is_interactive(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@contextlib.contextmanager
def terminal_progress(stream: TextIO | None = None) -> Iterator[bool]:
    """While active, every stage draws a live line on ``stream`` (stderr) if it is a terminal.

    Yields whether lines are drawn, so callers can stay quiet otherwise. Non-interactive output (a pipe,
    a file, CI, Dagster's captured logs) gets no progress lines at all.
    """
    stream = stream if stream is not None else sys.stderr
    if not is_interactive(stream):
        yield False
        return
    sink = TerminalLine(stream)
    _GLOBAL_SINKS.append(sink)
    try:
        yield True
    finally:
        _GLOBAL_SINKS.remove(sink)


def clear_terminal_lines() -> None:
    """Erase the live line(s) so a normal line can be printed; the next update draws them again."""
    for sink in _GLOBAL_SINKS:
        if isinstance(sink, TerminalLine):
            sink.clear()


def silence_library_progress_bars() -> None:
    """Turn off the progress bars model libraries draw while loading weights (``Loading weights: 100%|...``).

    They would land in run logs and piped output as bar fragments; our own stages report progress instead.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    with contextlib.suppress(ImportError):
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()


def track(stage: str, total: int | None, log: InfoLogger | None = None, *, unit: str = "documents") -> Progress:
    """A stage's progress, logged every N items through ``log`` (a Dagster ``context.log``) when given."""
    return Progress(stage, total, unit=unit, sinks=(LogSink(log),) if log is not None else ())
