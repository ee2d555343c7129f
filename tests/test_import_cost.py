"""`import pin_assets.definitions` leaves the heavy libraries unloaded.

Every process that loads the code location pays for what the definitions import: the code server, each
webserver reload, each run worker and (with the forkserver, once per run) the steps. PyTorch, PyMuPDF,
ONNX Runtime, FAISS, DuckDB and the like load inside the functions that use them, or through
``pin_assets.core.lazy.lazy_import`` at their first use. A fresh interpreter imports the definitions with
the test environment and reports what ran; an eager ``import faiss`` added anywhere on the way fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys

from pin_assets.core.lazy import lazy_import, loaded
from tests.conftest import REPO

PROBE = (
    "import json\n"
    "import pin_assets.definitions\n"
    "from pin_assets.core.lazy import HEAVY_LIBRARIES, loaded\n"
    "print(json.dumps([name for name in HEAVY_LIBRARIES if loaded(name)]))\n"
)


def test_definitions_import_leaves_heavy_libraries_unloaded() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_lazy_import_runs_the_module_at_first_use() -> None:
    probe = (
        "import sys\n"
        "from pin_assets.core.lazy import lazy_import, loaded\n"
        "csv = lazy_import('csv')\n"
        "assert not loaded('csv')\n"
        "assert csv.QUOTE_ALL == 1 and loaded('csv')\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]
    assert lazy_import("json") is json and loaded("json")  # already imported: the module itself
