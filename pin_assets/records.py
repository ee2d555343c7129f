"""Reading a batch's exported PIN records back, in export order, one record at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pin_assets import layout
from pin_assets.core.jsonl import iter_jsonl
from pin_assets.core.tables import iter_rows
from resources.storage import StorageResource


def batch_sources(storage: StorageResource, batch: str) -> list[str]:
    """The source datasets a batch's records are exported under (its manifest's ``source_dataset``s)."""
    rows = iter_rows(storage.open_input(layout.manifest(batch)), ["source_dataset"])
    return sorted({row["source_dataset"] for row in rows})


def record_keys(storage: StorageResource, batch: str) -> list[str]:
    """Every exported JSONL object of ``batch``, in part order, in whichever export layout it was written."""
    keys: list[str] = []
    for source in batch_sources(storage, batch):
        for prefix in layout.record_prefixes(source, batch):
            keys += sorted(k for k in storage.list_keys(prefix) if k.endswith(".jsonl"))
    return keys


def iter_records(storage: StorageResource, batch: str) -> Iterator[dict[str, Any]]:
    """The batch's PIN records, read with the project's one JSON Lines reader."""
    for key in record_keys(storage, batch):
        yield from iter_jsonl(storage.get_bytes(key))


EXPORT_ROOTS = ("export/pin", "export/hub")  # where records of every batch and layout live in a store


def duplicate_record_ids(storage: StorageResource, limit: int = 20) -> tuple[int, list[tuple[str, list[str]]]]:
    """Record ids found in more than one export of the store: how many, and the first ``limit`` with their exports.

    One export is one ``export/pin/<source>/<batch>`` or ``export/hub/<batch>/data/<source>`` folder. A loader
    reading ``export/pin/*/*/*/*.jsonl`` takes every export at once, so an id in two of them is a duplicate
    training record (and, when a batch was relabelled, two licenses for one document). Only the ``id`` field is
    parsed (pyarrow's JSON reader), and DuckDB groups the ids, spilling to disk beyond memory.
    """
    import duckdb
    import pyarrow as pa
    import pyarrow.dataset as pads
    import pyarrow.json as pajson

    keys = [k for root in EXPORT_ROOTS for k in storage.list_keys(root) if k.endswith(".jsonl")]
    if not keys:
        return 0, []
    fs, base = storage.arrow_filesystem()
    schema = pa.schema([("id", pa.string())])
    options = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    dataset = pads.dataset([f"{base}/{key}" for key in keys], schema=schema, filesystem=fs,
                           format=pads.JsonFileFormat(parse_options=options))
    out = pa.schema([("id", pa.string()), ("file", pa.string())])

    def batches() -> Iterator[pa.RecordBatch]:  # one file at a time: memory is one file's ids
        for fragment in dataset.get_fragments():
            for ids in fragment.to_batches(columns=["id"]):
                files = pa.array([fragment.path] * ids.num_rows, pa.string())
                yield pa.RecordBatch.from_arrays([ids.column(0), files], schema=out)

    reader = pa.RecordBatchReader.from_batches(out, batches())
    con = duckdb.connect()
    try:
        con.register("ids", reader)
        con.execute(
            "CREATE TEMP TABLE dup AS SELECT id, list(DISTINCT root ORDER BY root) AS roots FROM "
            "(SELECT id, regexp_replace(file, '/part[0-9]+/[^/]*$', '') AS root FROM ids) "
            "GROUP BY id HAVING count(DISTINCT root) > 1"
        )
        (total,) = con.execute("SELECT count(*) FROM dup").fetchone()
        rows = con.execute("SELECT id, roots FROM dup ORDER BY id LIMIT ?", [limit]).fetchall()
    finally:
        con.close()
    strip = len(base.rstrip("/")) + 1
    return int(total), [(str(doc_id), [root[strip:] for root in roots]) for doc_id, roots in rows]
