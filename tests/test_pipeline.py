"""The whole asset graph, in-process, on real PDFs with storage in a temp folder."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pyarrow.parquet as pq
import pymupdf
import pytest
from dagster import AssetSelection, DagsterInstance, materialize

from pin_assets import layout
from pin_assets.accounting import account_batch
from pin_assets.assets import PIN_ASSETS
from pin_assets.checks import ALL_CHECKS
from pin_assets.core.record import validate_record
from resources import ProcessingResource, StorageResource, TokenizerResource
from tests.pipeline_support import check_outcomes, read_records, run_batch


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


def _check_result(result, failing: frozenset[str] = frozenset()) -> dict:
    assert result.success
    checks = check_outcomes(result)
    # 5 evaluations under 4 names: quarantine_rate_within_bound is on both parsed_markdown and page_renders
    assert len(result.get_asset_check_evaluations()) == 5 and len(checks) == 4
    assert {name for name, passed in checks.items() if not passed} == failing
    return {
        event.asset_key.to_user_string(): event.event_specific_data.materialization.metadata
        for event in result.get_asset_materialization_events()
    }


def test_batch_to_pin_records_and_rerun_is_idempotent(
    tmp_path: Path, instance: DagsterInstance, small_pdf_batch: Path
) -> None:
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    metadata = _check_result(run_batch(instance, storage, "b1", small_pdf_batch))
    assert metadata["raw_documents"]["documents"].value == 3
    assert metadata["pin_records"]["records"].value == 3
    assert "preview" in metadata["parsed_markdown"]

    records = read_records(storage)
    assert len(records) == 3
    part = "export/pin/testset/b1/part00"
    for record in records:
        validate_record(record)
        assert record["meta"]["source_dataset"] == "testset" and record["license"] == "CC-BY-4.0"
        assert record["meta"]["oi_source"] == "ori" and record["meta"]["oi_exist"]
        pdf = small_pdf_batch / record["meta"]["ori_meta"]["filename"]
        with pymupdf.open(pdf) as doc:
            page_count = doc.page_count
        assert len(record["overall_image"]) == page_count
        offsets = record["meta"]["ori_meta"]["page_offsets"]
        assert len(offsets) == page_count and offsets == sorted(offsets)
        for path in record["content_image"] + record["overall_image"]:
            assert storage.exists(f"{part}/{path}"), path
        assert record["quality_signals"]["doc_length"] == len(record["md"])
    pictures = next(r for r in records if r["meta"]["ori_meta"]["filename"] == "picture_classification.pdf")
    assert pictures["content_image"], "images extracted and referenced inline"

    first = sorted((r["id"], r["md"], r["content_image"], r["overall_image"]) for r in records)
    image_files = sorted(PurePosixPath(k).name for k in storage.list_keys(part))
    _check_result(run_batch(instance, storage, "b1", small_pdf_batch))
    again = read_records(storage)
    assert sorted((r["id"], r["md"], r["content_image"], r["overall_image"]) for r in again) == first
    assert sorted(PurePosixPath(k).name for k in storage.list_keys(part)) == image_files
    assert account_batch(storage, "b1").balanced


def test_bad_documents_are_quarantined_and_the_rest_converted(
    tmp_path: Path, instance: DagsterInstance, bad_batch: Path
) -> None:
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    result = run_batch(instance, storage, "bad", bad_batch, max_quarantine_rate=0.7)  # 4 of 6 quarantined
    _check_result(result)
    rate = next(e for e in result.get_asset_check_evaluations() if e.asset_key.to_user_string() == "parsed_markdown")
    assert rate.passed and rate.blocking and rate.metadata["quarantine_rate"].value == 0.6667
    account = account_batch(storage, "bad")
    assert (account.documents, account.records, account.quarantined) == (6, 2, 4)
    from pin_assets.quarantine import read_quarantine

    reasons = {
        row["source_uri"].rsplit("/", 1)[-1]: (row["stage"], row["reason"], row["message"])
        for row in read_quarantine(storage, "bad").to_pylist()
    }
    assert reasons["encrypted.pdf"][1] == "encrypted" and "password" in reasons["encrypted.pdf"][2]
    assert reasons["empty.pdf"][1] == "empty"
    assert reasons["image.pdf"][1] == "unsupported"
    assert reasons["broken.pdf"][1] == "corrupt"
    assert {r["meta"]["ori_meta"]["filename"] for r in read_records(storage)} == {"good.pdf", "good2.pdf"}
    assert storage.exists(layout.quarantine("bad", "parse"))


def test_conservation_check_fails_when_a_record_goes_missing(
    tmp_path: Path, instance: DagsterInstance, small_pdf_batch: Path
) -> None:
    storage = StorageResource(base_uri=str(tmp_path / "store"))
    _check_result(run_batch(instance, storage, "b2", small_pdf_batch))
    parsed = pq.read_table(storage.open_input(layout.markdown("b2")))
    with storage.staged_file(layout.markdown("b2")) as path:  # one parsed document lost, none quarantined
        pq.write_table(parsed.slice(1), path)
    result = materialize(
        [*PIN_ASSETS, *ALL_CHECKS],
        selection=AssetSelection.assets("pin_records"),
        partition_key="b2",
        instance=instance,
        resources={"storage": storage, "processing": ProcessingResource(), "tokenizer": TokenizerResource()},
    )
    evaluation = next(
        c for c in result.get_asset_check_evaluations() if c.check_name == "every_document_accounted_for"
    )
    assert not evaluation.passed and evaluation.metadata["unaccounted"].value == 1
