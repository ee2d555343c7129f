"""Arrow schemas of the RealSyn tables; the hash columns double as the corpus-wide dedup index."""

from __future__ import annotations

import pyarrow as pa

SENTENCES = pa.schema(
    [
        ("sentence_id", pa.string()),
        ("doc_id", pa.string()),
        ("batch", pa.string()),
        ("position", pa.int32()),
        ("char_start", pa.int64()),
        ("char_end", pa.int64()),
        ("text", pa.string()),
        ("prev_sentence_id", pa.string()),
        ("next_sentence_id", pa.string()),
        ("text_hash", pa.int64()),
    ]
)

IMAGES = pa.schema(
    [
        ("image_id", pa.string()),
        ("doc_id", pa.string()),
        ("batch", pa.string()),
        ("image_index", pa.int32()),
        ("char_offset", pa.int64()),
        ("name", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("caption", pa.string()),
        ("context_before", pa.string()),
        ("context_after", pa.string()),
        ("prev_sentence_id", pa.string()),
        ("next_sentence_id", pa.string()),
        ("phash", pa.int64()),
    ]
)

INDEX_ROWS = pa.schema(
    [("row", pa.int64()), ("sentence_id", pa.string()), ("batch", pa.string()), ("doc_id", pa.string()),
     ("text", pa.string())]
)


def pairs_schema(top_k: int) -> pa.Schema:
    """Per image: lineage and the text centroid version searched, then ``text1..k`` with scores and sentence ids."""
    fields = [
        ("image_id", pa.string()), ("batch", pa.string()), ("doc_id", pa.string()), ("image", pa.string()),
        ("width", pa.int32()), ("height", pa.int32()), ("caption", pa.string()), ("centroid_version", pa.string()),
    ]
    for rank in range(1, top_k + 1):
        fields += [(f"text{rank}", pa.string()), (f"score{rank}", pa.float32()), (f"sentence_id{rank}", pa.string())]
    return pa.schema(fields)


def balanced_schema(top_k: int) -> pa.Schema:
    """The RealSyn release columns (image reference, ``text1..k``, ``syn_text``) plus cluster and lineage."""
    return pa.schema(
        list(pairs_schema(top_k)) + [pa.field("syn_text", pa.string()), pa.field("cluster", pa.int32()),
                                     pa.field("shard", pa.string())]
    )
