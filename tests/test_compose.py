"""docker-compose validates offline and agrees with the Dagster instance and workspace files."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"
needs_compose = pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose not installed (apt-get install --no-install-recommends docker-compose)",
)


def _compose(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), *args], cwd=REPO, capture_output=True, text=True, timeout=60
    )


@needs_compose
def test_compose_config_is_valid() -> None:
    result = _compose("config", "-q")
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


@needs_compose
def test_compose_services_wire_dagster_postgres_minio() -> None:
    result = _compose("config")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert set(services) == {
        "pin_postgres", "pin_minio", "pin_minio_init", "pin_code", "pin_webserver", "pin_daemon",
    }
    code = services["pin_code"]
    assert "code-server" in code["command"] and code["environment"]["DAGSTER_CURRENT_IMAGE"] == code["image"]
    assert code["environment"]["PIN_STORAGE_URI"].startswith("s3://")
    assert "mc mb --ignore-existing" in str(services["pin_minio_init"]["entrypoint"])
    assert any("docker.sock" in str(v) for v in services["pin_daemon"]["volumes"])
    workspace = yaml.safe_load((REPO / "docker" / "workspace.yaml").read_text())
    grpc = workspace["load_from"][0]["grpc_server"]  # host and port are {env: ...}, set by compose
    for service in ("pin_webserver", "pin_daemon"):
        env = services[service]["environment"]
        assert env[grpc["host"]["env"]] == "pin_code" and env[grpc["port"]["env"]] in code["command"]
    launcher = yaml.safe_load((REPO / "docker" / "dagster.yaml").read_text())["run_launcher"]["config"]
    assert launcher["network"] in yaml.safe_load(result.stdout)["networks"]["pin_factory"]["name"]
    # Every variable the run's resources read is forwarded into the run containers.
    assert {"PIN_STORAGE_URI", "PIN_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(
        launcher["env_vars"]
    )
    assert set(launcher["env_vars"]) <= set(code["environment"])


@pytest.mark.parametrize("path", ["docker/dagster.yaml", "pin_assets/instance.yaml"])
def test_instance_files_match_schema(path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PIN_S3_BUCKET", "PIN_S3_ENDPOINT_URL"):  # {env: ...} references, set by compose
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("DAGSTER_POSTGRES_PORT", "5432")
    shutil.copy(REPO / path, tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["concurrency"]["runs"]["max_concurrent_runs"] >= 1
    for section in ("run_launcher", "compute_logs"):
        if section in config:
            module = __import__(config[section]["module"], fromlist=[config[section]["class"]])
            cls = getattr(module, config[section]["class"])
            checked = process_config(cls.config_type(), config[section]["config"])
            assert checked.success, checked.errors


def test_local_workspace_loads_the_project_module() -> None:
    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == "pin_assets.definitions"


def test_dockerfile_copies_what_exists() -> None:
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                if "[" not in source:  # a bracket glob marks an optional file (README.m[d])
                    assert (REPO / source.replace("${DAGSTER_HOME}", "")).exists(), source


def test_steps_preload_what_the_production_instance_opens(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The forkserver imports the compose instance's storage and compute-log modules once per run: every
    step opens the instance before it starts, and would import them again otherwise."""
    from resources.executor import PRELOAD, instance_modules, preload_modules

    modules = instance_modules(str(REPO / "docker"))
    assert modules == ["dagster_postgres", "dagster_aws.s3.compute_log_manager"]
    assert all(importlib.util.find_spec(module) is not None for module in modules)
    monkeypatch.setenv("DAGSTER_HOME", str(REPO / "docker"))
    monkeypatch.delenv("PIN_STEP_PRELOAD", raising=False)
    assert preload_modules() == [*PRELOAD, *modules]
    shutil.copy(REPO / "pin_assets" / "instance.yaml", tmp_path / "dagster.yaml")
    assert instance_modules(str(tmp_path)) == []  # the local instance's SQLite storage ships with Dagster
