"""The four views' samples, built from one PIN record at a time.

A sample is a WebDataset sample: a key and ``{extension: bytes}`` members. Every sample carries a
``json`` member with the record id, source, the pages it covers, its token count, its flags and the
record's quality signals, so a training job can filter or weight without going back to the records.
Text members use the ``md`` extension (it is Markdown, images referenced as in the record).

Missing page renders or content images (a failed render, a remote image never fetched) never stop a
view: the sample is written without the member and flagged, or, where the image *is* the sample
(``page_pairs``), skipped and counted.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from pin_assets.core.views.slices import count_all, page_bounds, token_chunks

# (record, path as written in the record, e.g. "overall_image/x.webp") -> bytes, or None when missing
ImageLoader = Callable[[Mapping[str, Any], str], bytes | None]
TokenCounter = Callable[[str], int]

_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class ViewOptions:
    """What shapes a view's samples (filters are applied before records reach the builders)."""

    token_budget: int = 8192  # doc_pairs: most tokens of Markdown in one sample (whole pages only)


@dataclass
class Sample:
    """One WebDataset sample and the numbers the view's index and manifest need."""

    key: str
    files: dict[str, bytes]
    record_id: str
    source_dataset: str
    pages: list[int]
    md_tokens: int  # of the Markdown as written; the signals' total_token_count counts visible text only
    flags: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(data) for data in self.files.values())


def _key(record_id: str, suffix: str = "") -> str:
    return _UNSAFE_KEY.sub("-", str(record_id)) + suffix


def _ext(path: str) -> str:
    return PurePosixPath(path).suffix.lstrip(".").lower() or "bin"


def _ocr_pages(ori_meta: Mapping[str, Any]) -> set[int]:
    """Pages whose text came from OCR or that have no text layer at all (both are flagged in page views)."""
    pages = set(ori_meta.get("scanned_pages") or [])
    for entry in ori_meta.get("ocr_pages") or []:
        pages.add(entry["page"] if isinstance(entry, Mapping) else int(entry))
    return pages


def _meta_json(record: Mapping[str, Any], view: str, pages: Sequence[int], tokens: int,
               flags: Sequence[str], **extra: Any) -> bytes:
    meta = record["meta"]
    payload = {
        "record_id": record["id"],
        "source_dataset": meta.get("source_dataset"),
        "language": meta.get("language"),
        "view": view,
        "pages": list(pages),
        "page_count": len(meta["ori_meta"].get("page_offsets") or [0]),
        "md_tokens": tokens,
        "flags": list(flags),
        **extra,
        "quality_signals": record.get("quality_signals") or {},
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _sample(record: Mapping[str, Any], view: str, suffix: str, pages: list[int], tokens: int,
            flags: list[str], files: dict[str, bytes], **extra: Any) -> Sample:
    files["json"] = _meta_json(record, view, pages, tokens, flags, **extra)
    return Sample(_key(record["id"], suffix), files, str(record["id"]), record["meta"].get("source_dataset") or "",
                  pages, tokens, flags)


def page_pairs(record: Mapping[str, Any], load: ImageLoader, count: TokenCounter,
               options: ViewOptions, tally: Counter) -> Iterator[Sample]:
    """One sample per page with a render: ``<ext>`` (the page image), ``md`` (that page's slice), ``json``."""
    md, ori_meta = record["md"], record["meta"]["ori_meta"]
    bounds = page_bounds(md, ori_meta.get("page_offsets") or [0])
    renders = record["overall_image"] if isinstance(record["overall_image"], list) else [record["overall_image"]]
    ocr = _ocr_pages(ori_meta)
    for page, (start, end) in enumerate(bounds):
        image = load(record, renders[page]) if page < len(renders) else None
        if image is None:
            tally["pages_without_image"] += 1  # nothing to pair the text with
            continue
        text = md[start:end]
        flags = [flag for flag, on in (("empty_slice", not text.strip()), ("ocr", page in ocr)) if on]
        yield _sample(record, "page_pairs", f"_p{page:05d}", [page], count(text) if text.strip() else 0, flags,
                      {_ext(renders[page]): image, "md": text.encode("utf-8")}, char_span=[start, end])


def doc_pairs(record: Mapping[str, Any], load: ImageLoader, count: TokenCounter,
              options: ViewOptions, tally: Counter) -> Iterator[Sample]:
    """Overall images with their Markdown; a long document becomes several samples of whole pages.

    Members: ``p0000.<ext>``... (the page renders, numbered by page), ``md`` and ``json``. A short document
    is one sample with every page, which is the pairing PIN's contrastive use describes.
    """
    md, ori_meta = record["md"], record["meta"]["ori_meta"]
    bounds = page_bounds(md, ori_meta.get("page_offsets") or [0])
    renders = record["overall_image"] if isinstance(record["overall_image"], list) else [record["overall_image"]]
    tokens = count_all(count, [md[start:end] for start, end in bounds])
    chunks = token_chunks(tokens, options.token_budget)
    for number, pages in enumerate(chunks):
        files: dict[str, bytes] = {}
        flags: list[str] = []
        for page in pages:
            image = load(record, renders[page]) if page < len(renders) else None
            if image is None:
                flags.append(f"missing_page_image:{page}")
                tally["missing_page_images"] += 1
            else:
                files[f"p{page:04d}.{_ext(renders[page])}"] = image
        start, end = bounds[pages[0]][0], bounds[pages[-1]][1]
        if len(chunks) > 1:
            flags.append("split")
        suffix = f"_c{number:03d}" if len(chunks) > 1 else ""
        files["md"] = md[start:end].encode("utf-8")
        yield _sample(record, "doc_pairs", suffix, pages, sum(tokens[p] for p in pages), flags, files,
                      char_span=[start, end], chunk=number, chunks=len(chunks))


def interleaved(record: Mapping[str, Any], load: ImageLoader, count: TokenCounter,
                options: ViewOptions, tally: Counter) -> Iterator[Sample]:
    """The whole Markdown and its content images as members ``i0000.<ext>``... in the order ``md`` uses them.

    ``json["images"]`` maps each image reference in ``md`` to its member, so a loader can put the pixels
    where the reference stands.
    """
    md = record["md"]
    files: dict[str, bytes] = {"md": md.encode("utf-8")}
    images: list[dict[str, Any]] = []
    flags: list[str] = []
    for number, path in enumerate(record["content_image"]):
        data = load(record, path)
        member = f"i{number:04d}.{_ext(path)}" if data is not None else None
        if data is None:
            flags.append(f"missing_image:{number}")
            tally["missing_content_images"] += 1
        else:
            files[member] = data
        images.append({"ref": path, "member": member})
    pages = list(range(len(record["meta"]["ori_meta"].get("page_offsets") or [0])))
    yield _sample(record, "interleaved", "", pages, count(md) if md.strip() else 0, flags, files, images=images)


def pagination(record: Mapping[str, Any], load: ImageLoader, count: TokenCounter,
               options: ViewOptions, tally: Counter) -> Iterator[Sample]:
    """The whole Markdown with ``json["page_breaks"]``: the character offsets where pages 2, 3... start."""
    md, offsets = record["md"], list(record["meta"]["ori_meta"].get("page_offsets") or [0])
    page_bounds(md, offsets)  # validates the labels before they are written
    flags = ["single_page"] if len(offsets) == 1 else []
    yield _sample(record, "pagination", "", list(range(len(offsets))), count(md) if md.strip() else 0, flags,
                  {"md": md.encode("utf-8")}, page_breaks=offsets[1:])


VIEWS: dict[str, Callable[..., Iterator[Sample]]] = {
    "page_pairs": page_pairs,
    "doc_pairs": doc_pairs,
    "interleaved": interleaved,
    "pagination": pagination,
}


def build_samples(view: str, records: Iterable[Mapping[str, Any]], load: ImageLoader, count: TokenCounter,
                  options: ViewOptions | None = None, tally: Counter | None = None) -> Iterator[Sample]:
    """Every sample of ``view`` over ``records``, in record order; ``tally`` counts documents and gaps."""
    try:
        builder = VIEWS[view]
    except KeyError:
        raise ValueError(f"unknown view {view!r}: choose from {', '.join(VIEWS)}") from None
    options = options or ViewOptions()
    tally = tally if tally is not None else Counter()
    for record in records:
        tally["documents"] += 1
        yield from builder(record, load, count, options, tally)
