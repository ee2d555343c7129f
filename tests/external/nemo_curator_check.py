"""Read interleaved_documents exports with NeMo Curator's own reader and materialize every image row.

NeMo Curator is not a dependency of this project (a ~6.4 GB install); run this with a separate venv::

    python3 -m venv /tmp/nemo && /tmp/nemo/bin/pip install nemo-curator==1.4.0 pillow
    /tmp/nemo/bin/python tests/external/nemo_curator_check.py pin_data/export/interleaved/sample/part-00000.parquet

It exits non-zero unless every image row gets its bytes from ``source_ref`` without an error.
"""

import sys

from nemo_curator.stages.interleaved.io.readers.parquet import InterleavedParquetReaderStage
from nemo_curator.stages.interleaved.utils.materialization import materialize_task_binary_content
from nemo_curator.tasks import FileGroupTask


def main(paths: list[str]) -> int:
    out = InterleavedParquetReaderStage().process(FileGroupTask(dataset_name="pin", data=paths))
    total = filled = errors = 0
    for batch in out if isinstance(out, list) else [out]:
        frame = materialize_task_binary_content(batch).to_pandas()
        images = frame[frame["modality"] == "image"]
        total += len(images)
        filled += int(images["binary_content"].map(lambda b: b is not None and len(b) > 0).sum())
        errors += int(images["materialize_error"].notna().sum())
        print("samples", batch.num_items, "rows", len(frame), "by modality", frame["modality"].value_counts().to_dict())
        print("columns", list(frame.columns))
    print(f"image rows {total}, materialized {filled}, errors {errors}")
    return 0 if total and filled == total and not errors else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
