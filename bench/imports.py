"""What importing the project costs: ``import pin_assets.definitions`` in fresh processes (``--only imports``).

Every process that loads the code location pays it: the code server, each webserver reload, each run
worker, and (without the forkserver) each step. Wall and CPU seconds of a fresh interpreter that does
nothing else, median of N, contenders interleaved; the heavy libraries the import pulls in are listed.
``--baseline-code DIR`` times another checkout (say ``main``) in the same run, for a before/after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.corpus import REPO
from bench.report import Row
from bench.timing import interleaved
from pin_assets.core.lazy import HEAVY_LIBRARIES

PROBE = (  # a baseline checkout may predate core/lazy.py: its placeholders are recognised here by type name
    "import json, resource, sys, time\n"
    "began = time.perf_counter()\n"
    "import pin_assets.definitions\n"
    "wall = time.perf_counter() - began\n"
    "use = resource.getrusage(resource.RUSAGE_SELF)\n"
    "heavy = [m for m in %r if m in sys.modules and type(sys.modules[m]).__name__ != '_LazyModule']\n"
    "print(json.dumps({'wall': wall, 'cpu': use.ru_utime + use.ru_stime, 'heavy': heavy}))\n"
)


def import_once(code: Path) -> dict:
    """One fresh interpreter importing ``code``'s definitions: wall (the import alone), CPU (whole process)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PIN_", "DAGSTER_"))}
    env["PYTHONPATH"] = str(code)
    done = subprocess.run([sys.executable, "-c", PROBE % (HEAVY_LIBRARIES,)], cwd=code, env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(runs: int, baseline: Path | None = None) -> list[Row]:
    """Median wall and CPU seconds of the import, this checkout and optionally a baseline, interleaved."""
    codes = {"this checkout": REPO, **({"baseline": baseline.resolve()} if baseline else {})}
    seen: dict[str, list[dict]] = {name: [] for name in codes}

    def contender(name: str):
        def timed() -> float:
            result = import_once(codes[name])
            seen[name].append(result)
            return result["wall"]
        return timed

    samples = interleaved({name: contender(name) for name in codes}, runs, warmup=1)
    rows = []
    for name, code in codes.items():
        kept = seen[name][-runs:]
        cpu = sorted(r["cpu"] for r in kept)[len(kept) // 2]
        heavy = ", ".join(kept[-1]["heavy"]) or "none"
        wall = samples.median(name)
        rows.append(Row(f"import pin_assets.definitions: {name}", wall, "s wall",
                        f"median of {runs} fresh processes ({samples.spread(name)}); CPU {cpu:.2f} s; {code}; "
                        f"heavy modules loaded: {heavy}", "< 1.5 on an idle 2-core machine", wall < 1.5))
    if baseline:
        rows.append(Row("import pin_assets.definitions: this checkout / baseline", samples.ratio(
            "this checkout", "baseline"), "x", "wall time ratio per run"))
    return rows
