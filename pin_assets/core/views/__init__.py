"""Training views: PIN records cut into the samples PIN's tasks train on, written as WebDataset shards.

PIN's authors name five uses of a record: contrastive image-text learning (overall images with the whole
Markdown), interleaved next-token prediction (Markdown with its images in order), knowledge extraction
and document rendering (one page image with that page's Markdown, in either direction) and pagination
prediction (where a document's pages break). Each is a *view*:

==============  ======================================================================================
``page_pairs``  one sample per page: the page's overall image and the Markdown slice of that page
``doc_pairs``   overall images with their Markdown; long documents split into runs of whole pages
                that fit a token budget
``interleaved`` the whole Markdown with its content images as tar members, in reading order
``pagination``  the whole Markdown with the character offsets where its pages break, as labels
==============  ======================================================================================

A record's ``meta.ori_meta.page_offsets`` says where each page starts in ``md`` (the converters and the
compiled renderer cut pages at the same offsets), so a page's slice is ``md[offsets[i]:offsets[i+1]]``
and needs no re-parsing. Everything here is Dagster-free: records and image bytes come in through plain
callables, shards go out through a callback, so the asset and ``pin views`` share one code path.
"""

from pin_assets.core.views.samples import VIEWS, Sample, ViewOptions, build_samples
from pin_assets.core.views.shards import ViewManifest, write_view
from pin_assets.core.views.slices import page_slices, token_chunks

__all__ = [
    "VIEWS",
    "Sample",
    "ViewManifest",
    "ViewOptions",
    "build_samples",
    "page_slices",
    "token_chunks",
    "write_view",
]
