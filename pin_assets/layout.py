"""The storage layout: every key the pipeline reads or writes is spelled here and nowhere else.

Under the storage base::

    batches/<batch>.json                   how a batch was registered (source, dataset, license)
    raw/<batch>/<sha256>.<ext>             raw files, content-addressed
    raw/<batch>/manifest.parquet           one row per distinct raw document
    raw/<batch>/assets.parquet             files that travel with documents (figures, paired PDFs)
    markdown/<batch>/part-00000.parquet    Markdown, image list and page offsets per document
    images/<sha256>.<ext>                  content images, shared across batches
    renders/<batch>/<doc_id>/...           overall images (page renders)
    renders/<batch>/pages.parquet          index of the renders
    signals/<batch>/part-00000.parquet     quality signals per document
    minhash/<batch>/part-00000.parquet     MinHash signatures per document (written by the signals stage)
    dedup/index/<batch>/b<B>r<R>.parquet   a batch's LSH bucket index for one band setting (built once)
    dedup/members.parquet                  every document in a duplicate cluster, with its flags
    dedup/batches.parquet                  the batches the last clustering covered
    dedup/summary.json                     the last clustering's totals
    quarantine/<batch>/<stage>.parquet     documents a stage could not process, with the reason
    export/pin/<source>/<batch>/partNN/    PIN-14M layout: partNN.jsonl, content_image/, overall_image/
    views/<view>/<batch>/                  training views: shard-NNNNN.tar, index.parquet, manifest.json
    export/hub/<batch>/data/<source>/partNNNNN/   the hub release layout: partNNNNN.jsonl with
                                           content_image.tar[.partNN] and overall_image.tar[.partNN]
    export/interleaved/<batch>/part-00000.parquet NeMo Curator interleaved rows (INTERLEAVED_SCHEMA)
    stats/dashboard.html                   signal distributions per source (self-contained HTML)
    stats/signal_stats.json                the same numbers as JSON
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_name(name: str, what: str = "batch name") -> str:
    """Batch and source names become key segments: letters, digits, '.', '_' and '-' only."""
    if not _SAFE.match(name) or ".." in name:
        raise ValueError(f"invalid {what} {name!r}: use letters, digits, '.', '_' and '-' (max 128)")
    return name


def batch_spec(batch: str) -> str:
    return f"batches/{check_name(batch)}.json"


def raw_object(batch: str, sha256: str, ext: str) -> str:
    return f"raw/{check_name(batch)}/{sha256}.{ext}"


def manifest(batch: str) -> str:
    return f"raw/{check_name(batch)}/manifest.parquet"


def assets_manifest(batch: str) -> str:
    return f"raw/{check_name(batch)}/assets.parquet"


def markdown(batch: str) -> str:
    return f"markdown/{check_name(batch)}/part-00000.parquet"


def image(name: str) -> str:
    return f"images/{check_name(name, 'image name')}"


def render_page(batch: str, doc_id: str, name: str) -> str:
    return f"{render_doc_prefix(batch, doc_id)}/{check_name(name, 'render name')}"


def renders_prefix(batch: str) -> str:
    return f"renders/{check_name(batch)}"


def render_doc_prefix(batch: str, doc_id: str) -> str:
    return f"{renders_prefix(batch)}/{check_name(doc_id, 'document id')}"


def renders_index(batch: str) -> str:
    return f"renders/{check_name(batch)}/pages.parquet"


def signals(batch: str) -> str:
    return f"signals/{check_name(batch)}/part-00000.parquet"


SIGNALS_PREFIX = "signals"


def minhash(batch: str) -> str:
    return f"minhash/{check_name(batch)}/part-00000.parquet"


def dedup_index_prefix(batch: str) -> str:
    return f"dedup/index/{check_name(batch)}"


DEDUP_MEMBERS = "dedup/members.parquet"
DEDUP_BATCHES = "dedup/batches.parquet"
DEDUP_SUMMARY = "dedup/summary.json"
STATS_DASHBOARD = "stats/dashboard.html"
STATS_JSON = "stats/signal_stats.json"


def quarantine(batch: str, stage: str) -> str:
    return f"quarantine/{check_name(batch)}/{check_name(stage, 'stage')}.parquet"


def quarantine_prefix(batch: str) -> str:
    return f"quarantine/{check_name(batch)}"


def export_prefix(source_dataset: str, batch: str) -> str:
    return f"export/pin/{check_name(source_dataset, 'source dataset')}/{check_name(batch)}"


def export_part(source_dataset: str, batch: str, part: int) -> str:
    return f"{export_prefix(source_dataset, batch)}/part{part:02d}"


VIEW_NAMES = ("page_pairs", "doc_pairs", "interleaved", "pagination")


def view_prefix(view: str, batch: str) -> str:
    return f"views/{check_name(view, 'view')}/{check_name(batch)}"


def hub_export_root(batch: str) -> str:
    """A batch's hub export: a folder that can be uploaded as a dataset repository as it is."""
    return f"export/hub/{check_name(batch)}"


def hub_export_prefix(source_dataset: str, batch: str) -> str:
    return f"{hub_export_root(batch)}/data/{check_name(source_dataset, 'source dataset')}"


def hub_part(source_dataset: str, batch: str, part: int) -> str:
    return f"{hub_export_prefix(source_dataset, batch)}/part{part:05d}"


def record_prefixes(source_dataset: str, batch: str) -> tuple[str, str]:
    """Where a batch's records may be, in either export layout."""
    return export_prefix(source_dataset, batch), hub_export_prefix(source_dataset, batch)


def interleaved(batch: str) -> str:
    return f"export/interleaved/{check_name(batch)}/part-00000.parquet"


def batch_prefixes(batch: str, source_datasets: Iterable[str]) -> list[str]:
    """Every key and prefix above that holds only this batch's data: what removing a batch deletes.

    ``images/`` is left out on purpose: content images are stored once by hash and shared by every batch
    that contains them. ``stats/`` is corpus-wide and is rebuilt from the remaining batches' signals.
    """
    check_name(batch)
    return [
        batch_spec(batch),
        f"raw/{batch}",
        f"markdown/{batch}",
        renders_prefix(batch),
        f"signals/{batch}",
        f"minhash/{batch}",
        dedup_index_prefix(batch),
        quarantine_prefix(batch),
        *(prefix for source in sorted(set(source_datasets)) for prefix in record_prefixes(source, batch)),
        hub_export_root(batch),
        f"export/interleaved/{batch}",
        *(view_prefix(view, batch) for view in VIEW_NAMES),
    ]
