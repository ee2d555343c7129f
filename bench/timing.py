"""Interleaved repetitions: the one timing scheme every section uses.

Contenders are timed in turn within each repetition (A, B, C, A, B, C, ...) rather than one after the
other (A x5, then B x5), so a burst of load from other processes on the machine hits every contender in
the same repetition. Ratios are then taken within a repetition and their median reported: machine noise
that scales all contenders alike cancels out of the ratio.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Samples:
    """Seconds per repetition for each contender, in repetition order."""

    seconds: dict[str, list[float]]

    def median(self, name: str) -> float:
        return statistics.median(self.seconds[name])

    def rate(self, name: str, work: float) -> float:
        """Work units per second (pages/s, documents/s) at the median time."""
        return work / self.median(name)

    def spread(self, name: str) -> str:
        """Min and max, so a reader sees how noisy the median is."""
        values = self.seconds[name]
        return f"{min(values):.2f}-{max(values):.2f} s"

    def ratio(self, numerator: str, denominator: str) -> float:
        """Median over repetitions of ``time(numerator) / time(denominator)`` within the same repetition."""
        pairs = zip(self.seconds[numerator], self.seconds[denominator], strict=True)
        return statistics.median(a / b for a, b in pairs)


def interleaved(contenders: Mapping[str, Callable[[], float]], runs: int, warmup: int = 1) -> Samples:
    """Call each contender ``warmup`` times untimed, then ``runs`` times in turn.

    A contender returns the seconds it measured itself, so set-up that is not part of the thing being
    compared (a temp folder, reading input files) stays out of the number.
    """
    for _ in range(warmup):
        for run in contenders.values():
            run()
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(max(1, runs)):
        for name, run in contenders.items():
            seconds[name].append(run())
    return Samples(seconds)
