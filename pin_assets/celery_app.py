"""The Celery app a worker host runs: ``celery -A pin_assets.celery_app worker``.

Built from the same environment, by the same function, as the run's executor
(``resources/celery_executor.py``), so worker and run always agree on the broker, the result store and the
acknowledgement settings; it registers dagster-celery's step task (``execute_plan``), which loads the job
from this project (installed on the worker) and runs one step against the run's Dagster instance.

The worker imports ``PIN_STEP_PRELOAD`` (``pin_assets.definitions`` and the converters) once, before it
forks its pool process, so each step starts warm, as the forkserver's do on one host; and a worker whose
project cannot load fails at start, not at its first step.

Celery's pool processes are billiard's: daemonic, which may not start children, and holding billiard's
authentication key, which the standard library refuses to pickle into a new process. But a step spreads its
documents over a process pool of its own (``pin_assets/core/isolation.py``), as it does under the
multiprocess executor, whose step processes are plain ones. Each pool process therefore becomes a plain
process when it starts (:func:`_steps_may_fork`). Its children still end with it: the step's pool stops
them, and a lost worker's host takes them with it.
"""

from __future__ import annotations

import importlib
import os
from multiprocessing.process import AuthenticationString

from billiard.process import current_process
from celery.signals import worker_process_init
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from resources.celery_executor import app_args
from resources.executor import preload_modules

app = make_app(app_args())
execute_plan = create_task(app)


@worker_process_init.connect
def _steps_may_fork(**_: object) -> None:
    """Let the steps this pool process runs start their own document pools (see the module docstring)."""
    config = current_process()._config  # the public setters refuse a started process; these are all they set
    config["daemon"] = False
    config["authkey"] = AuthenticationString(os.urandom(32))


for _module in preload_modules():
    importlib.import_module(_module)
