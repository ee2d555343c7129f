"""datatrove's MinHash deduplication on a JSON Lines file, for bench/dedup_quality.py (run by datatrove's venv).

    /path/to/datatrove-venv/bin/python bench/dedup_datatrove_run.py DOCS.jsonl WORKDIR OUT.json [BUCKETS ROWS]

Runs datatrove's own stages 1-3 (signatures, buckets, clusters with cluster ids) with its defaults (5-grams,
14 buckets x 8 hashes, 64-bit hashes) unless BUCKETS and ROWS are given, and writes
``{"seconds": ..., "clusters": {document id: cluster id}}``: documents without duplicates are absent. Stage 3
names documents by their position in the reader's stream (which skips documents without text), so the ids are
read back through the same reader after the timed stages.
This file imports nothing from the project: datatrove is not one of its dependencies.
"""

from __future__ import annotations

import json
import struct
import sys
import time
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupSignature,
)
from datatrove.pipeline.readers import JsonlReader


def main() -> None:
    docs, work, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    config = MinhashConfig(num_buckets=int(sys.argv[4]), hashes_per_bucket=int(sys.argv[5])) \
        if len(sys.argv) > 5 else MinhashConfig()
    reader = JsonlReader(str(docs.parent), glob_pattern=docs.name, text_key="text", id_key="id")
    stages = [
        [reader, MinhashDedupSignature(output_folder=str(work / "sigs"), config=config)],
        [MinhashDedupBuckets(input_folder=str(work / "sigs"), output_folder=str(work / "buckets"), config=config)],
        [MinhashDedupCluster(input_folder=str(work / "buckets"), output_folder=str(work / "clusters"),
                             config=config, save_cluster_id=True)],
    ]
    tasks = [1, config.num_buckets, 1]
    started = time.perf_counter()
    for i, (pipeline, n) in enumerate(zip(stages, tasks, strict=True)):
        LocalPipelineExecutor(pipeline=pipeline, tasks=n, workers=1, logging_dir=str(work / f"logs{i}"),
                              skip_completed=False).run()
    seconds = time.perf_counter() - started
    ids = [doc.id for doc in reader.run()]
    clusters: dict[str, int] = {}
    path = work / "clusters" / "000000.clusters"
    if path.exists():
        for doc, cluster in struct.iter_unpack("<II", path.read_bytes()):
            clusters[ids[doc]] = cluster
    out.write_text(json.dumps({"seconds": seconds, "config": str(config), "clusters": clusters}))


if __name__ == "__main__":
    main()
