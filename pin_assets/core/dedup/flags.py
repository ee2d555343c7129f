"""Duplicate flags as columns of the signal rows, for every filter: ``pin stats --where``, the dashboard, views.

The clustering writes one row per document that is in a cluster (``dedup/members.parquet``) and the list
of batches it covered (``dedup/batches.parquet``); the flags are joined onto the signal rows by
``(batch, doc_id)``. A document of a covered batch that is in no cluster is unique: ``is_duplicate`` is
false and the counts 0. A document of a batch the clustering has not seen yet (materialized after the last
``duplicate_clusters`` run) has NULL flags, so a filter such as ``NOT is_duplicate`` does not keep it
until the clustering has looked at it.
"""

from __future__ import annotations

MEMBERS_VIEW = "dedup_members"
BATCHES_VIEW = "dedup_batches"

FLAG_COLUMNS: dict[str, str] = {
    "duplicate_cluster": "the cluster's kept document as '<batch>/<doc_id>'; NULL for a document without duplicates",
    "is_duplicate": "true for every member of a cluster but the kept one: what deduplication drops",
    "near_duplicates": "other documents in the document's cluster (exact copies included)",
    "exact_duplicates": "other documents in the cluster with the same normalized text",
}


def flags_select(rows_view: str) -> str:
    """SQL giving the rows of ``rows_view`` with the flag columns added (see the module docstring)."""
    def covered(column: str, unique_value: str) -> str:
        return (f"CASE WHEN m.doc_id IS NOT NULL THEN m.{column} WHEN c.batch IS NOT NULL THEN {unique_value} END "
                f"AS {column}")

    return (
        f"SELECT s.*, m.duplicate_cluster, {covered('is_duplicate', 'false')}, "
        f"{covered('near_duplicates', '0')}, {covered('exact_duplicates', '0')} "
        f"FROM {rows_view} s "
        f"LEFT JOIN {MEMBERS_VIEW} m ON m.batch = s.batch AND m.doc_id = s.doc_id "
        f"LEFT JOIN (SELECT DISTINCT batch FROM {BATCHES_VIEW}) c ON c.batch = s.batch"
    )
