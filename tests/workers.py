"""Module-level task functions for isolation tests: worker processes import them by name."""

from __future__ import annotations

import os
import signal
import time

from pin_assets.core.document import ConversionError


def behave(kind: str) -> str:
    if kind == "ok":
        return "done"
    if kind == "sleep":
        time.sleep(60)
    if kind == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "refuse":
        raise ConversionError("encrypted", "needs a password")
    if kind == "memory":
        bytearray(8 * 2**30)
    raise ValueError(f"bad input {kind}")
