"""Operator mistakes never cost data, and the numbers say exactly what happened.

One batch, the commands a user types, in the order a bad day brings them: a first run (through a real
process, so the terminal it prints to is the real one), a rerun with a setting that quarantines almost
everything (stopped by the blocking check, the export untouched), a relabelling refused and then done with
--replace (one export left), and a stale export of the same records found by `pin stats`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner
from dagster import AssetKey, DagsterInstance

from pin_assets.cli import main
from pin_assets.quarantine import read_quarantine
from resources.storage import StorageResource
from tests.conftest import REPO
from tests.test_settings_door import FLOAT, INT, VALID

NOISY_PDF = REPO / "tests" / "data" / "noisy" / "olmo-page-1_pg1.pdf"
CHATTER = ("MuPDF", "freetype", "Tesseract", "too small to scale", "cannot be recognized", "torchvision")


def _source(folder: Path) -> Path:
    """A real noisy PDF page, three two-page notes and one broken PDF: 1 of 5 (20%) quarantined on a good day."""
    folder.mkdir()
    shutil.copy(NOISY_PDF, folder / NOISY_PDF.name)
    for number in range(1, 4):
        lines = [f"Note {number}, line {i}: the well was logged at {i * 10} metres in sandstone." for i in range(70)]
        (folder / f"note{number}.md").write_text(f"# Field note {number}\n\n" + "\n\n".join(lines) + "\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 4)
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _in_range(rng: random.Random, name: str) -> str:
    """A value the door lets through for ``name``, often at an edge of its range (where runs go wrong)."""
    spec = VALID[name]
    if spec[0] == INT:
        return str(rng.choice([spec[1], spec[2], spec[1] + 1, rng.randint(spec[1], min(spec[2], 10 * spec[1] + 10))]))
    if spec[0] == FLOAT:
        return repr(float(rng.choice([spec[1], spec[2], rng.uniform(spec[1], min(spec[2], 10 * spec[1] + 1))])))
    return str(rng.choice(sorted(spec[1]))) if len(spec) > 1 else rng.choice(["true", "false"])


# Settings a run on this batch can feel. Not drawn: workers (1024 workers is valid, and a machine's worth of
# processes), the OCR language and tessdata path (text PDFs: never used), the LaTeX budget (no e-print), the
# fetch and web settings (no URL source, no web page). A new setting changes the seeded draws below.
FUZZED = sorted(name for name in VALID
                if not name.startswith(("workers", "fetch_", "web_", "ocr_languages", "ocr_tessdata", "latex_")))


def _ids_in(export: Path) -> list[str]:
    return [json.loads(line)["id"] for p in sorted(export.glob("*/*.jsonl")) for line in p.read_text().splitlines()]


def _metadata(instance: DagsterInstance, asset: str) -> tuple[str, dict]:
    event = instance.get_latest_materialization_event(AssetKey(asset))
    return event.run_id, {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_bad_runs_and_relabelling_never_cost_the_export(tmp_path: Path) -> None:
    env = {"DAGSTER_HOME": str(tmp_path / "home"), "PIN_STORAGE_URI": str(tmp_path / "store")}
    store = tmp_path / "store"
    source = _source(tmp_path / "reports")

    def pin(*args: str):
        return CliRunner().invoke(main, list(args), env=env)

    assert pin("batch", "add", "logs", str(source), "--dataset", "reports", "--license", "mixed").exit_code == 0

    # 1. The first run, in its own process: its terminal shows the summary and nothing native libraries said.
    first = subprocess.run(
        [sys.executable, "-m", "pin_assets.cli", "materialize", "logs", "--no-realsyn", "--set", "render_dpi=30",
         "--set", "workers=1"],
        env={**os.environ, **env}, cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert not [word for word in CHATTER if word in first.stdout + first.stderr], first.stdout + first.stderr
    summary = first.stdout
    assert "counts are this batch's" in summary
    for line in ("documents in      5", "records out       4", "quarantined       1 (why: pin quarantine logs)",
                 "conservation      ok: 5 = 4 + 1", "content images    "):
        assert line in summary, summary
    markdown = pq.read_table(store / "markdown" / "logs" / "part-00000.parquet").to_pylist()
    kinds = {row["doc_id"]: row["kind"] for row in markdown}
    noisy = next(row for row in markdown if row["kind"] == "pdf")
    assert any(w.startswith("native output: MuPDF: ") for w in noisy["warnings"]), noisy["warnings"]
    signals = {row["doc_id"]: row for row in pq.read_table(store / "signals" / "logs" / "part-00000.parquet")
               .to_pylist()}
    assert signals[noisy["doc_id"]]["warning_count"] == len(noisy["warnings"]) >= 1
    assert all(signals[d]["warning_count"] == 0 for d, kind in kinds.items() if kind == "markdown")

    # 2. What the UI shows, read back from the instance: exact, labelled, quarantine counted on every stage.
    instance = DagsterInstance.from_config(env["DAGSTER_HOME"])
    first_run, records_meta = _metadata(instance, "pin_records")
    assert records_meta["records"] == 4
    assert records_meta["quarantined (this stage)"] == 0
    assert records_meta["quarantined (batch, stages so far)"] == 1
    assert records_meta["quarantine_reasons"] == {"parse": {"corrupt": 1}}
    assert "broken.pdf" in records_meta["quarantine_preview"]
    _, parse_meta = _metadata(instance, "parsed_markdown")
    assert (parse_meta["documents in batch"], parse_meta["documents"]) == (5, 4)
    instance.dispose()
    export = store / "export" / "pin" / "reports" / "logs"
    before = _files(export)
    assert len(before) > 4

    # 3. A setting that quarantines 4 of 5 documents: the blocking check stops the run, the export stays.
    bad = pin("materialize", "logs", "--no-realsyn", "--set", "max_pages=1", "--set", "workers=1")
    assert bad.exit_code == 1, bad.output
    assert ("pin: stopped by the blocking check parsed_markdown/quarantine_rate_within_bound: 4 of 5 documents "
            "quarantined (80.0%), over max_quarantine_rate=0.25") in bad.stderr
    assert f"the quarantine list: {store / 'quarantine' / 'logs'}" in bad.stderr
    assert "pin quarantine logs" in bad.stderr and "Traceback" not in bad.output
    assert _files(export) == before
    instance = DagsterInstance.from_config(env["DAGSTER_HOME"])
    for stage in ("page_renders", "quality_signals", "pin_records", "interleaved_documents"):
        event = instance.get_latest_materialization_event(AssetKey(stage))
        assert event is None or event.run_id == first_run, stage  # nothing downstream ran in the bad run
    assert instance.get_latest_materialization_event(AssetKey("parsed_markdown")).run_id != first_run
    instance.dispose()

    # 3b. Random values the door lets through, edges first: a run either publishes a whole new export (records
    # and quarantine together account for every document) or fails and leaves the previous export untouched.
    rng = random.Random(20264155)  # draws max_quarantine_rate=0 (stopped), then JPEG renders at quality 2
    documents = set(pq.read_table(store / "raw" / "logs" / "manifest.parquet").column("doc_id").to_pylist())
    assert len(documents) == 5
    outcomes = []
    for _ in range(2):
        drawn = [f"{name}={_in_range(rng, name)}" for name in rng.sample(FUZZED, 3)]
        run = pin("materialize", "logs", "--no-realsyn", *[a for d in drawn for a in ("--set", d)],
                  "--set", "workers=1")
        assert run.exit_code in (0, 1) and "Traceback" not in run.output, (drawn, run.output)
        outcomes.append(run.exit_code)
        if run.exit_code == 1:
            assert _files(export) == before, drawn
            continue
        quarantined = set(read_quarantine(StorageResource(base_uri=str(store)), "logs").column("doc_id").to_pylist())
        ids = _ids_in(export)
        assert len(ids) == len(set(ids)) and set(ids) | quarantined == documents and not set(ids) & quarantined, drawn
        before = _files(export)
    assert outcomes == [1, 0]  # both sides exercised: a bound of 0 stops the run, JPEG renders publish

    # 4. Re-adding the batch with another license is refused; with --replace, the old outputs go first.
    refused = pin("batch", "add", "logs", str(source), "--dataset", "reports", "--license", "CC-BY-4.0")
    assert refused.exit_code == 2
    assert "already registered with another spec (license 'mixed' -> 'CC-BY-4.0')" in refused.stderr
    assert json.loads((store / "batches" / "logs.json").read_text())["license"] == "mixed"
    replaced = pin("batch", "add", "logs", str(source), "--dataset", "field-logs", "--license", "CC-BY-4.0",
                   "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert "dataset 'reports' -> 'field-logs'; license 'mixed' -> 'CC-BY-4.0'" in replaced.output
    assert not export.exists() and not (store / "markdown" / "logs").exists()
    again = pin("materialize", "logs", "--no-realsyn", "--set", "render_dpi=30", "--set", "workers=1")
    assert again.exit_code == 0, again.output
    exports = sorted(p.relative_to(store).as_posix() for p in store.glob("export/pin/*/*"))
    assert exports == ["export/pin/field-logs/logs"]
    licenses = {json.loads(line)["license"] for p in store.glob("export/pin/*/*/*/*.jsonl")
                for line in p.read_text().splitlines()}
    assert licenses == {"CC-BY-4.0"}
    assert pin("stats").exit_code == 0

    # 5. An export of the same records left under another name (by an older version, by hand) is found.
    shutil.copytree(store / "export" / "pin" / "field-logs" / "logs", store / "export" / "pin" / "reports" / "logs")
    stats = pin("stats")
    assert stats.exit_code == 1
    assert "pin stats: 4 record ids are in more than one export (in store):" in stats.stderr
    assert "export/pin/field-logs/logs  export/pin/reports/logs" in stats.stderr
