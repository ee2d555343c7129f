"""What importing the project costs: ``import pin_assets.definitions`` in fresh processes (``--only imports``).

Every process that loads the code location pays it: the code server, each webserver reload, each run
worker, and (without the forkserver) each step. Wall and CPU seconds of a fresh interpreter that does
nothing else, median of N, contenders interleaved; the heavy libraries the import pulls in are listed.
``--baseline-code DIR`` times another checkout (say ``main``) in the same run, for a before/after.

The same import seen from the UI: ``dagster-webserver -m pin_assets.definitions`` started on an empty
instance, timed from the start to the first answer that shows the code location loaded and its asset
graph (the GraphQL queries the UI's asset-graph page sends, ``workspaceOrError`` then ``assetNodes``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
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


UI_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries { name
    locationOrLoadError { __typename ... on PythonError { message } } } } }
  assetNodes { id } }
"""
UI_TIMEOUT_S = 600  # a hang guard only
UI_RUNS = 3  # each start takes tens of seconds on 2 cores
UI_ATTEMPTS = 3  # starts per sample before the bench gives up


class UiLoadFailed(RuntimeError):
    """The webserver showed the code location's load error (on a loaded machine: its code server's start)."""


def ui_load_once(code: Path) -> dict:
    """Seconds from starting the webserver on ``code``'s definitions to the UI's asset graph answered."""
    from tests.prod_stack import dagster_command, free_port, graphql

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pin-ui-load-") as home:
        env = {name: value for name, value in os.environ.items() if not name.startswith(("PIN_", "DAGSTER_"))}
        env.update(PYTHONPATH=str(code), DAGSTER_HOME=home)
        command = dagster_command("dagster-webserver", "-h", "127.0.0.1", "-p", str(port), "-m",
                                  "pin_assets.definitions")
        began = time.perf_counter()
        server = subprocess.Popen(command, cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        try:
            while time.perf_counter() - began < UI_TIMEOUT_S:
                try:
                    answer = graphql(port, UI_QUERY, timeout_s=UI_TIMEOUT_S)
                except OSError:
                    time.sleep(0.1)
                    continue
                entries = answer["workspaceOrError"].get("locationEntries") or []
                kinds = [(e["locationOrLoadError"] or {}).get("__typename") for e in entries]
                if "RepositoryLocation" in kinds and answer["assetNodes"]:
                    return {"wall": time.perf_counter() - began, "assets": len(answer["assetNodes"])}
                if "PythonError" in kinds:  # the UI shows the location's load error: this start failed
                    errors = [e["locationOrLoadError"] for e in entries]
                    raise UiLoadFailed(f"the webserver on {code} shows a load error: {errors}")
                time.sleep(0.1)
            raise TimeoutError(f"the webserver on {code} did not load its code location in {UI_TIMEOUT_S} s")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)


def ui_rows(runs: int, codes: dict[str, Path]) -> list[Row]:
    """Median seconds to the UI's asset graph, each checkout, interleaved; failed starts counted and retried."""
    assets: dict[str, int] = {}
    failed: dict[str, list[str]] = {name: [] for name in codes}

    def contender(name: str):
        def timed() -> float:
            for _ in range(UI_ATTEMPTS - 1):
                try:
                    result = ui_load_once(codes[name])
                    break
                except UiLoadFailed as error:
                    failed[name].append(str(error)[-300:])
            else:
                result = ui_load_once(codes[name])
            assets[name] = result["assets"]
            return result["wall"]
        return timed

    samples = interleaved({name: contender(name) for name in codes}, runs, warmup=1)
    rows = [Row(f"UI: code location loaded, asset graph answered: {name}", samples.median(name), "s",
                f"median of {runs} webserver starts ({samples.spread(name)}); {assets[name]} assets; "
                f"{len(failed[name])} start(s) showed a load error and were retried; {code}")
            for name, code in codes.items()]
    if len(codes) > 1:
        rows.append(Row("UI: code location load, this checkout / baseline",
                        samples.ratio("this checkout", "baseline"), "x", "wall time ratio per run"))
    return rows


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
    return rows + ui_rows(UI_RUNS, codes)
