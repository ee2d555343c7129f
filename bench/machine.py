"""What the numbers were measured on: a benchmark result without its machine cannot be compared."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata

import psutil

LIBRARIES = ("pymupdf", "pymupdf4llm", "pdf2image", "pillow", "dagster", "duckdb", "pyarrow", "psutil")


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (platform.processor() is empty on Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def poppler_version() -> str:
    """pdftoppm prints its version on stderr; pdf2image's speed is poppler's speed."""
    try:
        done = subprocess.run(["pdftoppm", "-v"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    first = (done.stderr or done.stdout).strip().splitlines()
    return first[0].split()[-1] if first else "unknown"


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["poppler"] = poppler_version()
    return versions


def describe() -> dict[str, str]:
    """Machine, OS, Python and library versions, plus the load at start (the machine may be shared)."""
    load1, load5, _ = os.getloadavg()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": f"{psutil.cpu_count(logical=False) or '?'} physical / {os.cpu_count()} logical",
        "ram": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "load average at start": f"{load1:.2f} (1 min), {load5:.2f} (5 min)",
        **library_versions(),
    }
