"""Where every raw document of a batch ended up: the numbers behind the conservation guarantee.

raw documents = records + quarantined, always. The asset check, `pin demo` and `pin quarantine` all
read these counts, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pin_assets import layout
from pin_assets.core.document import has_content
from pin_assets.core.jsonl import iter_jsonl
from pin_assets.core.tables import iter_rows
from pin_assets.quarantine import read_quarantine
from resources.storage import StorageResource


@dataclass
class BatchAccount:
    batch: str
    documents: int = 0
    records: int = 0
    quarantined: int = 0
    pages_rendered: int = 0
    content_images: int = 0  # references in the batch's records
    distinct_content_images: int = 0  # different images among them (an image may recur across records)
    unaccounted: list[str] = field(default_factory=list)  # doc_ids in neither place
    duplicated: list[str] = field(default_factory=list)  # doc_ids exported more than once
    without_markdown: list[str] = field(default_factory=list)  # records whose md is blank
    export_prefix: str = ""

    @property
    def quarantine_rate(self) -> float:
        return self.quarantined / self.documents if self.documents else 0.0

    @property
    def balanced(self) -> bool:
        return not self.unaccounted and not self.duplicated and self.documents == self.records + self.quarantined


def account_batch(storage: StorageResource, batch: str) -> BatchAccount:
    """Read the manifest, the exported JSONL and the quarantine files, and reconcile them."""
    account = BatchAccount(batch)
    rows = list(iter_rows(storage.open_input(layout.manifest(batch)), ["doc_id", "source_dataset"]))
    manifest = [row["doc_id"] for row in rows]
    account.documents = len(manifest)
    sources = {row["source_dataset"] for row in rows}
    exported: dict[str, int] = {}
    images: set[str] = set()
    # Records may be in either export layout (folders or hub); the export deletes the other one.
    prefixes = [prefix for source in sources for prefix in layout.record_prefixes(source, batch)]
    account.export_prefix = storage.uri(prefixes[0]) if prefixes else ""
    for prefix in prefixes:
        for key in storage.list_keys(prefix):
            if not key.endswith(".jsonl"):
                continue
            account.export_prefix = storage.uri(prefix)
            for record in iter_jsonl(storage.get_bytes(key)):
                exported[record["id"]] = exported.get(record["id"], 0) + 1
                if not has_content(record["md"]):
                    account.without_markdown.append(record["id"])
                account.pages_rendered += len(record["overall_image"])
                account.content_images += len(record["content_image"])
                images.update(record["content_image"])
    quarantined = set(read_quarantine(storage, batch).column("doc_id").to_pylist())
    account.records = len(exported)
    account.distinct_content_images = len(images)
    account.quarantined = len(quarantined - exported.keys())
    account.duplicated = sorted(doc for doc, n in exported.items() if n > 1)
    account.unaccounted = sorted(set(manifest) - exported.keys() - quarantined)
    return account
