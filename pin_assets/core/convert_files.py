"""Convert one file on the local disk to a PIN record folder, without Dagster or a store.

The same core functions the assets call (detect, parse, render, signals, record), arranged for one
document: ``OUT/<stem>/<stem>.md``, ``<stem>.json``, ``content_image/`` and ``overall_image/``.

:func:`convert_files` runs each input through the same isolation as the assets (a worker pool with a
per-document timeout and memory cap), so one file that crashes, hangs or exhausts memory costs that file
only. A record folder appears whole or not at all: it is built in a hidden staging folder and renamed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pin_assets.core import kinds
from pin_assets.core.convert import oi_source, parse_document, render_document
from pin_assets.core.document import FALLBACK_PAGES, IMAGES_SKIPPED, PAGES_FAILED, metadata_count
from pin_assets.core.html.markdown import FALLBACK_FLAG
from pin_assets.core.image_refs import ImageSyntax, write_image_refs
from pin_assets.core.isolation import TaskFailure, run_isolated
from pin_assets.core.limits import DocumentLimits
from pin_assets.core.pdf_pages import RenderOptions
from pin_assets.core.record import build_record, document_ori_meta, validate_record
from pin_assets.core.signals import ImageFacts, compute_signals
from pin_assets.core.sources.assets import folder_assets
from pin_assets.core.sources.detect import detect_kind
from pin_assets.core.text import clean_text, clean_value
from pin_assets.core.tokenizer import Tokenizer, default_tokenizer


def convert_file(
    path: Path,
    out_dir: Path,
    options: RenderOptions,
    *,
    source_dataset: str = "local",
    license: str = "unknown",
    limits: DocumentLimits | None = None,
    tokenizer: Tokenizer | None = None,
    image_syntax: ImageSyntax = "markdown",
) -> dict[str, Any]:
    """Convert ``path`` into ``out_dir/<stem>/`` and return the validated PIN record.

    The ``.json`` record is PIN-14M's exactly (``<img src='content_image/NAME'>`` tags in ``md``); the
    ``.md`` file beside it spells images in ``image_syntax``: Markdown image syntax by default, with the
    converter's alt text, so the file reads as Markdown in any viewer or Markdown tool.

    Raises ``ConversionError`` with a reason when the document cannot be converted.
    """
    limits = limits or DocumentLimits()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f"{_staging_prefix(path)}{uuid.uuid4().hex}"  # mkdir, unlike mkdtemp, honours umask
    staging.mkdir()
    try:
        record = _convert_into(path, staging, options, source_dataset, license, limits, tokenizer, image_syntax)
        final = out_dir / path.stem
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record


def _staging_prefix(path: Path) -> str:
    return f".{path.stem}.partial-"


def _convert_into(
    path: Path, folder: Path, options: RenderOptions, source_dataset: str, license: str,
    limits: DocumentLimits, tokenizer: Tokenizer | None, image_syntax: ImageSyntax,
) -> dict[str, Any]:
    data = path.read_bytes()
    kind = detect_kind(data, path.name)
    source_kind = kinds.get(kind)
    assets = folder_assets(path.parent) if source_kind.assets == "beside" else None
    parsed = parse_document(data, kind, limits, assets)
    (folder / "content_image").mkdir(parents=True, exist_ok=True)
    (folder / "overall_image").mkdir(parents=True, exist_ok=True)
    for image in parsed.images:
        (folder / "content_image" / image.name).write_bytes(image.data)
    paired_pdf = None
    if source_kind.paired_pages:  # a PMC article's own pages (its PDF beside it) beat a compiled render
        paired_pdf = path.with_suffix("." + kinds.get(source_kind.paired_pages).extension)
    if paired_pdf is not None and paired_pdf.is_file():
        pages_data, pages_kind = paired_pdf.read_bytes(), source_kind.paired_pages
    else:
        pages_data, pages_kind, paired_pdf = data, kind, None
    pages = []
    for page in render_document(pages_data, pages_kind, parsed, options, limits):
        name = f"{path.stem}-p{page.index + 1:04d}.{page.ext}"
        (folder / "overall_image" / name).write_bytes(page.data)
        pages.append(name)
    signals = compute_signals(
        parsed.markdown,
        [ImageFacts(i.width, i.height, len(i.data)) for i in parsed.images],
        tokenizer or default_tokenizer(),
        page_count=parsed.page_count,
        scanned_pages=len(parsed.scanned_pages),
        ocr_pages=len(parsed.metadata.get("ocr_pages") or ()),
        main_content_fallback=FALLBACK_FLAG in parsed.metadata,
        images_skipped=metadata_count(parsed.metadata, IMAGES_SKIPPED),
        pages_failed=metadata_count(parsed.metadata, PAGES_FAILED),
        fallback_pages=metadata_count(parsed.metadata, FALLBACK_PAGES),
    )
    record = build_record(
        doc_id=hashlib.sha256(data).hexdigest(),
        markdown=parsed.markdown,
        overall_images=pages,
        source_dataset=source_dataset,
        date_download=datetime.now(UTC).strftime("%Y-%m-%d"),
        license=license,
        language=parsed.language,
        oi_source=oi_source(kind, paired_pdf=paired_pdf is not None),
        ori_meta=document_ori_meta(
            source_uri=path.resolve().as_uri(), filename=path.name, title=parsed.title,
            page_count=parsed.page_count, page_offsets=parsed.page_offsets,
            scanned_pages=parsed.scanned_pages, metadata=parsed.metadata,
        ),
        quality_signals=signals,
    )
    validate_record(record)
    markdown_file = record["md"] if image_syntax == "html" else write_image_refs(parsed.markdown, image_syntax)
    (folder / f"{path.stem}.md").write_text(clean_text(markdown_file), encoding="utf-8")
    (folder / f"{path.stem}.json").write_text(json.dumps(clean_value(record), ensure_ascii=False, indent=1),
                                               encoding="utf-8")
    return record


@dataclass(frozen=True)
class Converted:
    """What ``pin convert`` reports for one converted input (plain values, returned by a worker)."""

    folder: str
    pages: int
    images: int
    seconds: float


def convert_to_folder(
    path: str, out_dir: str, options: RenderOptions, source_dataset: str, license: str, limits: DocumentLimits,
    image_syntax: ImageSyntax = "markdown",
) -> Converted:
    """:func:`convert_file` as a worker task: plain arguments in, a plain summary out."""
    started = time.perf_counter()
    record = convert_file(Path(path), Path(out_dir), options, source_dataset=source_dataset, license=license,
                          limits=limits, image_syntax=image_syntax)
    return Converted(str(Path(out_dir) / Path(path).stem), len(record["overall_image"]),
                     len(record["content_image"]), time.perf_counter() - started)


def convert_files(
    paths: Sequence[Path], out_dir: Path, options: RenderOptions, *, source_dataset: str = "local",
    license: str = "unknown", limits: DocumentLimits | None = None, workers: int = 1,
    image_syntax: ImageSyntax = "markdown",
) -> Iterator[tuple[Path, Converted | TaskFailure]]:
    """Convert each path in a worker pool; yield ``(path, summary or failure)`` in input order.

    A worker killed mid-document (timeout, memory, crash) may leave its staging folder; it is removed here.
    """
    limits = limits or DocumentLimits()
    out_dir.mkdir(parents=True, exist_ok=True)
    results = run_isolated(
        convert_to_folder, paths,
        args_of=lambda p: (str(p), str(out_dir), options, source_dataset, license, limits, image_syntax),
        workers=max(1, min(workers, len(paths))), timeout_s=limits.timeout_s, memory_mb=limits.memory_mb,
        max_image_pixels=limits.max_image_pixels,
    )
    for path, result in results:
        if isinstance(result, TaskFailure):
            for leftover in out_dir.glob(_staging_prefix(path) + "*"):
                shutil.rmtree(leftover, ignore_errors=True)
        yield path, result
