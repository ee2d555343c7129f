"""Every setting is checked at the door, with its range: the CLI's --set, the launchpad's run config, the sensors'
environment and markers. A value outside its range never starts the work it would spoil."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from dagster import DagsterInstance, RunsFilter, build_sensor_context

from pin_assets import cli
from pin_assets.cli import main
from pin_assets.definitions import build_definitions
from pin_assets.run_report import root_cause
from pin_assets.settings import SettingError, parse_assignments
from resources.processing import ProcessingResource
from sensors import build_sensors
from sensors.inbox import make_inbox_sensor
from tests.conftest import make_text_pdf

# The test's own statement of every processing setting's valid values (kind, low, high, or choices), kept
# apart from the resource's declarations on purpose: the fuzz checks the code against it, and a new setting
# without an entry here fails the fuzz until someone decides its range.
INT, FLOAT, BOOL, CHOICE, TEXT = "int", "float", "bool", "choice", "text"
VALID: dict[str, tuple] = {
    "workers": (INT, 0, 1024),
    "doc_timeout_s": (FLOAT, 1, 86_400),
    "max_pages": (INT, 1, 1_000_000),
    "max_image_pixels": (INT, 1, 2**34),
    "max_output_bytes": (INT, 1024, 2**40),
    "worker_memory_mb": (INT, 256, 2**20),
    "render_dpi": (INT, 10, 600),
    "render_format": (CHOICE, {"webp", "jpeg", "png"}),
    "render_quality": (INT, 1, 100),
    "render_backend": (CHOICE, {"pymupdf", "pdf2image"}),
    "ocr_enabled": (BOOL,),
    "ocr_tessdata": (TEXT,),
    "ocr_languages": (TEXT, r"auto|[a-z][a-z0-9_]*(\+[a-z][a-z0-9_]*)*"),
    "ocr_dpi": (INT, 72, 600),
    "ocr_max_pages": (INT, 0, 1_000_000),
    "ocr_max_page_reads": (INT, 0, 1_000_000),
    "max_quarantine_rate": (FLOAT, 0, 1),
    "fetch_allowed_networks": (TEXT, "networks"),
    "fetch_timeout_s": (FLOAT, 1, 3600),
    "fetch_max_bytes": (INT, 1, 2**40),
    "fetch_honour_noai": (BOOL,),
    "web_comments": (BOOL,),
    "web_title_heading": (BOOL,),
    "fetch_images": (CHOICE, {"auto", "on", "off"}),
    "layout_model": (CHOICE, {"auto", "off"}),  # or the path of an .onnx file, which the fuzz does not draw
    "latex_work_budget": (INT, 1, 100_000),
}


def pin(env: dict[str, str], *args: str):
    return CliRunner().invoke(main, list(args), env=env)


def test_bad_set_values_are_refused_with_the_setting_the_value_and_the_range(tmp_path: Path) -> None:
    env = {"DAGSTER_HOME": str(tmp_path / "home"), "PIN_STORAGE_URI": str(tmp_path / "store")}
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.pdf").write_bytes(make_text_pdf("One document for the door", 1))
    assert pin(env, "batch", "add", "b", str(tmp_path / "src")).exit_code == 0
    refusals = {
        "max_pages=-5": "max_pages=-5: must be an integer from 1 to 1,000,000",
        "render_format=gif": "render_format=gif: must be one of webp, jpeg, png",
        "max_quarantine_rate=1.5": "max_quarantine_rate=1.5: must be a number from 0 to 1",
        "doc_timeout_s=nan": "doc_timeout_s=nan: must be a number from 1 to 86,400",
        "render_dpi=5000": "render_dpi=5000: must be an integer from 10 to 600",
        "worker_memory_mb=64": "worker_memory_mb=64: must be an integer from 256 to 1,048,576",
        "fetch_allowed_networks=intranet": "'intranet' is not an IP address or network",
        "ocr_languages=eng;rm": "must be auto or Tesseract languages joined by +",
    }
    for assignment, message in refusals.items():
        for command in (("materialize", "b"), ("quarantine", "b", "--retry")):
            result = pin(env, *command, "--set", assignment)
            assert result.exit_code == 2, (assignment, result.output)
            assert result.stderr.strip() == f"pin: --set {result.stderr.split('--set ', 1)[1].strip()}"
            assert message in result.stderr and "\n" not in result.stderr.strip(), result.stderr
    instance = DagsterInstance.from_config(env["DAGSTER_HOME"])
    assert instance.get_run_records(filters=RunsFilter(job_name="pin_job")) == []  # not one run started
    instance.dispose()
    assert not (tmp_path / "store" / "raw").exists()


def _random_value(rng: random.Random, name: str) -> str:
    """A value a user might type for ``name``: in range, at the edges, outside, of the wrong kind, or garbage."""
    spec = VALID[name]
    if spec[0] in (INT, FLOAT):
        low, high = spec[1], spec[2]
        number = rng.choice([low, high, low - 1, high + 1, -low - 1, 0, rng.randint(int(low), int(high)),
                             rng.uniform(low, high), high * 10, -(2**70), 2**70])
        return rng.choice([str(number), f"{number}", repr(float(number)), "nan", "inf", "-inf", "1e3", "",
                           "12abc", "0x10", "true", str(rng.uniform(-1, 2))])
    if spec[0] == CHOICE:
        return rng.choice([*sorted(spec[1]), "gif", "WEBP", "", "png ", "jpg"])
    if spec[0] == BOOL:
        return rng.choice(["true", "false", "1", "0", "yes", "no", "maybe", "", "2", "on"])
    return rng.choice(["auto", "eng", "chi_sim+eng", "eng;rm -rf", "", "127.0.0.1/32", "10.0.0.0/8, ::1",
                       "intranet", "300.1.1.1", "/usr/share/tesseract-ocr/5/tessdata", "ENG"])


def _valid(name: str, value: Any) -> bool:
    """Is ``value`` (as the CLI parsed it) inside the range the test expects for ``name``?"""
    import ipaddress
    import re

    kind = VALID[name][0]
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool) and VALID[name][1] <= value <= VALID[name][2]
    if kind == FLOAT:
        return isinstance(value, float) and math.isfinite(value) and VALID[name][1] <= value <= VALID[name][2]
    if kind == CHOICE:
        return value in VALID[name][1]
    if kind == BOOL:
        return isinstance(value, bool)
    if len(VALID[name]) > 1 and VALID[name][1] == "networks":
        try:
            [ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]
        except ValueError:
            return False
        return True
    return len(VALID[name]) == 1 or re.fullmatch(VALID[name][1], value) is not None


def test_random_set_values_never_start_a_run_with_a_value_out_of_range(monkeypatch, tmp_path: Path) -> None:
    """`pin materialize b --set NAME=VALUE` with random values of every setting: each is refused at the door
    (exit 2, one line naming the setting) or reaches the run within the range this test expects."""
    assert set(VALID) == set(ProcessingResource.model_fields), "a setting without a range in VALID"
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(cli, "_run_batch", lambda batch, **kw: started.append(kw["settings"]) or 0)
    env = {"DAGSTER_HOME": str(tmp_path / "home"), "PIN_STORAGE_URI": str(tmp_path / "store")}
    rng = random.Random(20261206)
    refused = 0
    for _ in range(400):
        name = rng.choice(sorted(VALID))
        value = _random_value(rng, name)
        result = pin(env, "materialize", "b", "--no-realsyn", "--set", f"{name}={value}")
        if result.exit_code == 2:
            refused += 1
            assert result.stderr.startswith(f"pin: --set {name}=") and "must be" in result.stderr, result.stderr
            continue
        assert result.exit_code == 0, result.output
        assert _valid(name, started[-1][name]), (name, value, started[-1][name])
    assert 100 < refused < 350 and len(started) == 400 - refused  # both sides of the door were exercised
    # every value the door let through also builds the resource the run uses
    for settings in started:
        ProcessingResource(**settings).limits()


def test_parse_assignments_names_every_setting_for_an_unknown_one() -> None:
    with pytest.raises(SettingError, match="use NAME=VALUE with NAME one of doc_timeout_s, fetch_allowed"):
        parse_assignments(ProcessingResource, ["colour=blue"])


def test_launchpad_values_out_of_range_fail_the_first_step_before_anything_is_written(tmp_path: Path) -> None:
    """Run config from the UI or a sensor's run request: ranges Dagster's schema cannot express are checked by
    the first step, so an export setting of 0 fails the run at ingest, not at its last step."""
    import os

    source = tmp_path / "src"
    source.mkdir()
    (source / "a.md").write_text("# A\n\nA document the run never gets to.\n")
    store = tmp_path / "store"
    os.environ["PIN_STORAGE_URI"] = str(store)
    try:
        defs = build_definitions()
    finally:
        del os.environ["PIN_STORAGE_URI"]
    run_config = {
        "ops": {"raw_documents": {"config": {"source_uri": str(source)}},
                "pin_records": {"config": {"max_docs_per_part": 0, "tar_part_bytes": 10}}},
        "resources": {"processing": {"config": {"workers": 1}}},
    }
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("batches", ["b"])
        result = defs.resolve_job_def("pin_job").execute_in_process(
            instance=instance, partition_key="b", run_config=run_config, raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    error = root_cause(failure.step_failure_data.error)
    message = error.message
    assert failure.step_key == "raw_documents" and error.cls_name == "SettingError"
    assert "ops.pin_records.max_docs_per_part=0: must be an integer from 1 to 100,000" in message
    assert "ops.pin_records.tar_part_bytes=10: must be an integer from 10,240" in message
    assert not store.exists() or not any(store.rglob("*.parquet"))


def test_sensor_settings_are_checked_where_they_come_from(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PIN_INBOX_INTERVAL_SECONDS", "soon")
    with pytest.raises(SettingError, match="PIN_INBOX_INTERVAL_SECONDS: inbox_interval_seconds=soon: must be an "
                                           "integer from 1 to 86,400"):
        build_sensors()
    monkeypatch.delenv("PIN_INBOX_INTERVAL_SECONDS")

    inbox = tmp_path / "inbox"
    for drop, marker in (("good", '{"source_dataset": "reports"}'), ("bad", '{"source_dataset": "../etc"}')):
        (inbox / drop).mkdir(parents=True)
        (inbox / drop / "a.md").write_text("# A\n\ntext\n")
        (inbox / drop / "_READY").write_text(marker)
    from resources import StorageResource

    storage = StorageResource(base_uri=str(tmp_path / "store"))
    sensor = make_inbox_sensor(str(inbox))
    with DagsterInstance.ephemeral() as instance, build_sensor_context(
        instance=instance, resources={"storage": storage}
    ) as context:
        result = sensor(context)
    assert [r.partition_key for r in result.run_requests] == ["good"]  # the bad marker skips its drop only
    assert storage.exists("batches/good.json") and not storage.exists("batches/bad.json")
