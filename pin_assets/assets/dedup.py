"""Corpus-wide duplicate clusters: MinHash LSH over every batch's signatures, verified, union-find, one kept.

The signals stage writes each batch's MinHash signatures; this asset builds the bucket index of a batch
that has none yet (once per batch and band setting), streams every batch's buckets band by band, verifies
candidate pairs by their estimated Jaccard similarity, joins them by union-find and keeps one document per
cluster by the ``keep`` rule. Its outputs become the ``duplicate_cluster``, ``is_duplicate``,
``near_duplicates`` and ``exact_duplicates`` columns of every signal filter (``pin stats --where``, the
dashboard, the views' ``where``). See docs/dedup.md.
"""

import time
from collections import Counter
from typing import Literal

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from pin_assets import layout
from pin_assets.assets.automation import AFTER_UPSTREAM
from pin_assets.assets.realsyn_io import md_table
from pin_assets.core.dedup.clusters import KEEP_RULES, ClusterResult, ClusterSettings, find_clusters
from pin_assets.core.dedup.lsh import candidate_probability, lsh_params
from pin_assets.partitions import batches
from pin_assets.settings import SettingError
from resources.storage import StorageResource

KeepRule = Literal[tuple(KEEP_RULES)]  # type: ignore[valid-type]  # the rules' names, checked at the door
EXAMPLE_CLUSTERS = 5
EXAMPLE_MEMBERS = 4


class DuplicateClustersConfig(Config):
    threshold: float = Field(default=0.8, gt=0.0, lt=1.0, description="Estimated Jaccard similarity of word "
                             "5-grams at or above which two documents are duplicates (RedPajama-v2 offers 0.7, "
                             "0.8 and 0.9).")
    bands: int = Field(default=0, ge=0, le=128,
                       description="LSH bands; 0 = chosen for the threshold (0.8: 9 bands).")
    rows: int = Field(default=0, ge=0, le=128, description="Signature values per band; 0 = chosen for the threshold "
                      "(0.8: 13 rows). bands x rows must not pass 128.")
    keep: KeepRule = Field(default="longest", description="Which document of a cluster is kept: "
                      + "; ".join(f"'{k}': {v}" for k, v in KEEP_RULES.items()) + ".")
    chunk_entries: int = Field(default=2_000_000, ge=1000, description="Bucket entries merged at once "
                               "(memory: about 40 bytes each).")


@asset(
    group_name="dedup",
    deps=["quality_signals"],
    automation_condition=AFTER_UPSTREAM,
    description="Exact and near-duplicate documents across every batch (MinHash LSH, verified, union-find), "
    "one kept per cluster; flags for every signal filter.",
    kinds={"parquet"},
)
def duplicate_clusters(
    context: AssetExecutionContext, config: DuplicateClustersConfig, storage: StorageResource
) -> MaterializeResult:
    # pyarrow.dataset (with pandas) loads in the step, not in every process that imports the definitions.
    from pin_assets.dedup_io import prepare_batches, summary_json, write_outputs

    started = time.perf_counter()
    if config.bands * config.rows > 128:  # the one range that spans two settings, checked before any work
        raise SettingError([f"bands={config.bands}, rows={config.rows}: bands x rows must be at most 128 "
                            "(the signature's length)"])
    bands, rows = (config.bands, config.rows) if config.bands and config.rows else lsh_params(config.threshold)
    settings = ClusterSettings(config.threshold, bands, rows, config.keep, config.chunk_entries)
    registered = context.instance.get_dynamic_partitions(batches.name)  # in registration order
    prepared = prepare_batches(storage, registered, bands, rows)
    for name, missing in (("without signatures (materialize quality_signals)", prepared.without_signatures),
                          ("with signatures of another scheme (re-materialize quality_signals)",
                           prepared.other_scheme)):
        if missing:
            context.log.warning(f"{len(missing)} batch(es) {name}, left out: {', '.join(missing[:20])}")
    result = find_clusters(prepared.inputs, settings)
    write_outputs(storage, result, prepared)
    storage.put_bytes(layout.DEDUP_SUMMARY, summary_json(result))
    totals = result.totals
    context.log.info(f"{totals['duplicates']} duplicates in {totals['clusters']} clusters over "
                     f"{totals['documents']} documents; indexes built for {len(prepared.built)} batch(es), "
                     f"reused for {len(prepared.reused)}")
    documents = totals["documents"]
    return MaterializeResult(
        metadata={
            **{name: value for name, value in totals.items()},
            "duplicate_share": MetadataValue.float(totals["duplicates"] / documents if documents else 0.0),
            "threshold": MetadataValue.float(config.threshold),
            "lsh": f"{bands} bands x {rows} rows (candidate chance at the threshold: "
                   f"{candidate_probability(config.threshold, bands, rows):.2f})",
            "keep_rule": f"{config.keep}: {KEEP_RULES[config.keep]}",
            "indexes_built": len(prepared.built),
            "indexes_reused": len(prepared.reused),
            "batches_left_out": MetadataValue.json(
                {"without_signatures": prepared.without_signatures, "other_scheme": prepared.other_scheme}),
            "cluster_sizes": MetadataValue.md(md_table(
                [{"size": k, "clusters": v} for k, v in result.size_histogram.items()], ["size", "clusters"])),
            "per_source": MetadataValue.md(md_table(
                [{"source": s, **v} for s, v in sorted(result.per_source.items())],
                ["source", "in_clusters", "duplicates", "exact"])),
            "across_sources": MetadataValue.md(md_table(
                [{"sources": s, "clusters": n} for s, n in result.cross_source], ["sources", "clusters"])),
            "examples": MetadataValue.md(_examples(storage, result)),
            "members": MetadataValue.path(storage.uri(layout.DEDUP_MEMBERS)),
            "seconds": MetadataValue.float(round(time.perf_counter() - started, 3)),
        }
    )


def _examples(storage: StorageResource, result: ClusterResult) -> str:
    """The largest clusters, a few members each, with the start of their text."""
    rows = result.members.slice(0, 2000).to_pylist()  # sorted largest cluster first
    chosen: list[dict] = []
    per_cluster: Counter[str] = Counter()
    for row in rows:
        if row["duplicate_cluster"] not in per_cluster and len(per_cluster) >= EXAMPLE_CLUSTERS:
            continue
        if per_cluster[row["duplicate_cluster"]] < EXAMPLE_MEMBERS:
            per_cluster[row["duplicate_cluster"]] += 1
            chosen.append(row)
    if not chosen:
        return "no duplicates"
    wanted: dict[str, set[str]] = {}
    for row in chosen:
        wanted.setdefault(row["batch"], set()).add(row["doc_id"])
    from pin_assets.dedup_io import snippets

    texts = snippets(storage, wanted)
    for row in chosen:
        row["document"] = f"{row['batch']}/{row['doc_id']}"
        row["kept"] = "kept" if not row["is_duplicate"] else ""
        row["text"] = texts.get((row["batch"], row["doc_id"]), "")
    return md_table(chosen, ["cluster_size", "document", "source_dataset", "kept", "similarity", "words", "text"],
                    width=60)
