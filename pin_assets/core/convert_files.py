"""Convert one file on the local disk to a PIN record folder, without Dagster or a store.

The same core functions the assets call (detect, parse, render, signals, record), arranged for one
document: ``OUT/<stem>/<stem>.md``, ``<stem>.json``, ``content_image/`` and ``overall_image/``. A WARC file
is many documents: each HTML response record gets its own folder, ``OUT/<warc stem>/<NNNN-host-path>/``,
with the record's URL and crawl date, and the images captured in the same WARC (see :class:`Input`).

:func:`convert_files` runs each input through the same isolation as the assets (a worker pool with a
per-document timeout and memory cap), so one file that crashes, hangs or exhausts memory costs that file
only. A record folder appears whole or not at all: it is built in a hidden staging folder and renamed.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pin_assets.core import kinds
from pin_assets.core.convert import oi_source, parse_document, render_document
from pin_assets.core.document import (
    FALLBACK_PAGES,
    IMAGES_SKIPPED,
    LATEX_FALLBACK,
    PAGES_FAILED,
    VECTOR_FIGURES,
    ConversionError,
    metadata_count,
)
from pin_assets.core.html.image_fetch import batch_fetch_cache
from pin_assets.core.html.markdown import FALLBACK_FLAG
from pin_assets.core.html.warc import WarcPage, is_warc, page_image_refs, read_warc_bytes, warc_failure
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


@dataclass(frozen=True)
class Input:
    """One document ``pin convert`` converts: a file, or one HTML response record of a WARC file.

    ``name`` is the record's folder (and the stem of its files) inside ``folder`` of the output folder (the
    WARC file's stem for its records); ``page`` and ``images`` are a WARC record's page and the images
    captured in the same WARC that it refers to, by absolute URL.
    """

    path: Path
    name: str
    folder: str = ""
    page: WarcPage | None = None
    images: dict[str, bytes] | None = None

    @property
    def label(self) -> str:
        """How the CLI names it: the file, or ``FILE#URL`` for a WARC record."""
        return str(self.path) if self.page is None else f"{self.path}#{self.page.url}"


def expand_inputs(paths: Sequence[Path]) -> Iterator[Input | tuple[str, TaskFailure]]:
    """The documents of the given files: each file itself, or each HTML record of a WARC file. A WARC file
    that broke off (its records before the break still come) or holds no page is a failure of its own."""
    for path in paths:
        if path.is_dir():  # an unpacked source (a LaTeX folder): one document
            yield Input(path, path.name)
            continue
        with open(path, "rb") as handle:
            head = handle.read(4096)
        if not is_warc(path.name, head):
            yield Input(path, path.stem)
            continue
        contents = read_warc_bytes(path.read_bytes())
        stem = re.sub(r"\.warc$", "", path.stem, flags=re.I)
        captured = {url: url for url in contents.images}
        for number, page in enumerate(contents.pages, start=1):
            refs = page_image_refs(page.body, page.url, captured)
            yield Input(path, _record_name(number, page.url), stem, page, {url: contents.images[url] for url in refs})
        failure = warc_failure(contents)
        if failure is not None:
            yield str(path), TaskFailure(failure.reason, "ConversionError", str(failure))


def _record_name(number: int, url: str) -> str:
    """A WARC record's folder: its number in the file, then its host and path as a file name can hold them."""
    parts = urllib.parse.urlsplit(url)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{parts.hostname or ''}{parts.path}").strip("-.")
    return f"{number:04d}-{slug[:80]}".rstrip("-.")


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
    document: Input | None = None,
) -> dict[str, Any]:
    """Convert ``path`` into ``out_dir/<stem>/`` (or ``document``, one record of a WARC file, into its own
    folder) and return the validated PIN record.

    The ``.json`` record is PIN-14M's exactly (``<img src='content_image/NAME'>`` tags in ``md``); the
    ``.md`` file beside it spells images in ``image_syntax``: Markdown image syntax by default, with the
    converter's alt text, so the file reads as Markdown in any viewer or Markdown tool.

    Raises ``ConversionError`` with a reason when the document cannot be converted.
    """
    return _convert_file(path, out_dir, options, source_dataset, license, limits, tokenizer, image_syntax,
                         document)[0]


def _convert_file(
    path: Path, out_dir: Path, options: RenderOptions, source_dataset: str, license: str,
    limits: DocumentLimits | None, tokenizer: Tokenizer | None, image_syntax: ImageSyntax,
    document: Input | None = None,
) -> tuple[dict[str, Any], Path]:
    """:func:`convert_file`, also returning the record's folder."""
    limits = limits or DocumentLimits()
    document = document or Input(path, path.stem)
    out_dir = out_dir / document.folder if document.folder else out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f"{_staging_prefix(document.name)}{uuid.uuid4().hex}"  # mkdir, unlike mkdtemp, honours umask
    staging.mkdir()
    try:
        record, stem = _convert_into(document, staging, options, source_dataset, license, limits, tokenizer,
                                     image_syntax)
        final = out_dir / stem
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record, final


def _staging_prefix(name: str) -> str:
    return f".{name}.partial-"


@dataclass(frozen=True)
class InputDocument:
    """One input of ``pin convert`` as a document: its bytes (a folder's source bundled), kind and stem."""

    path: Path
    data: bytes
    kind: str
    stem: str


def read_input(path: Path) -> InputDocument:
    """A file, or a folder holding an unpacked source (a LaTeX folder: its main file and the files it uses).

    A file of a kind whose source spans files (``assets="bundle"``) is bundled with the files it uses from
    its own folder; the stem drops the kind's whole extension (``2405.16513`` for ``2405.16513.tar.gz``).
    """
    if path.is_dir():
        return _read_folder(path)
    data = path.read_bytes()
    kind = detect_kind(data, path.name)
    source_kind = kinds.get(kind)
    if source_kind.assets == "bundle":
        data, _ = kinds.resolve(source_kind.references)(path.name, data, _reader(path.parent))
    return InputDocument(path, data, kind, kinds.document_stem(path.name, kind))


def _read_folder(folder: Path) -> InputDocument:
    """The document a folder is: the main file of the first bundling kind whose sniffer recognises one."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    for source_kind in kinds.sniffed_kinds():
        if source_kind.assets != "bundle":
            continue
        mains = [p for p in files if source_kind.sniff(kinds.Probe(p.read_bytes(), p.name))]
        if mains:
            main = _main_of(source_kind.name, folder, mains)
            relative = main.relative_to(folder).as_posix()
            data, _ = kinds.resolve(source_kind.references)(relative, main.read_bytes(), _reader(folder))
            return InputDocument(folder, data, source_kind.name, folder.name)
    raise ConversionError("unsupported", f"the folder {folder.name!r} holds no source file pin converts as a "
                                         "whole (a LaTeX main file); give its files instead")


def _main_of(kind: str, folder: Path, mains: list[Path]) -> Path:
    """Of several candidate main files, the one the kind's rules choose (arXiv's for LaTeX)."""
    if kind == "arxiv" and len(mains) > 1:
        from pin_assets.core.latex.mainfile import find_main_file

        chosen = find_main_file({p.relative_to(folder).as_posix(): p.read_bytes() for p in mains}, folder.name)
        return folder / chosen.path
    return mains[0]


def _reader(folder: Path):  # noqa: ANN202 (a Callable[[str], bytes | None])
    """Files of ``folder`` by relative path, never outside it."""
    root = folder.resolve()

    def read(relpath: str) -> bytes | None:
        target = (root / relpath).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return None
        return target.read_bytes()

    return read


def _convert_into(
    document: Input, folder: Path, options: RenderOptions, source_dataset: str, license: str,
    limits: DocumentLimits, tokenizer: Tokenizer | None, image_syntax: ImageSyntax,
) -> tuple[dict[str, Any], str]:
    """Convert one document into ``folder``; the record and the stem of its files."""
    path, page = document.path, document.page
    paired_pdf = paired = None
    if page is not None:  # a WARC record: an HTML page with its URL, charset header and captured images
        data, kind, assets, stem = page.body, "html", document.images, document.name
        parsed = parse_document(data, kind, limits, assets, url=page.url)
    else:  # a file, or a folder holding an unpacked source (bundled)
        source = read_input(path)
        data, kind, stem = source.data, source.kind, source.stem
        source_kind = kinds.get(kind)
        assets = folder_assets(path.parent) if source_kind.assets == "beside" else None
        if source_kind.paired_pages:  # a PMC article's own pages (its PDF beside it) beat a compiled render
            base = path.parent / (path.name if path.is_dir() else stem)
            paired_pdf = base.with_name(f"{base.name}.{kinds.get(source_kind.paired_pages).extension}")
            paired_pdf = paired_pdf if paired_pdf.is_file() else None
        paired = paired_pdf.read_bytes() if paired_pdf is not None else None
        parsed = parse_document(data, kind, limits, assets, paired=paired)
    source_kind = kinds.get(kind)
    (folder / "content_image").mkdir(parents=True, exist_ok=True)
    (folder / "overall_image").mkdir(parents=True, exist_ok=True)
    for image in parsed.images:
        (folder / "content_image" / image.name).write_bytes(image.data)
    if paired is not None:
        pages_data, pages_kind = paired, source_kind.paired_pages
    else:
        pages_data, pages_kind = data, kind
    pages = []
    for rendered in render_document(pages_data, pages_kind, parsed, options, limits):
        name = f"{stem}-p{rendered.index + 1:04d}.{rendered.ext}"
        (folder / "overall_image" / name).write_bytes(rendered.data)
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
        warnings=len(parsed.warnings),
        latex_fallback=LATEX_FALLBACK in parsed.metadata,
        fallback_pages=metadata_count(parsed.metadata, FALLBACK_PAGES),
        vector_figures=metadata_count(parsed.metadata, VECTOR_FIGURES),
    )
    record = build_record(
        doc_id=hashlib.sha256(data).hexdigest(),
        markdown=parsed.markdown,
        overall_images=pages,
        source_dataset=source_dataset,
        date_download=(page.crawl_date[:10] if page and page.crawl_date[:4].isdigit() else None)
        or datetime.now(UTC).strftime("%Y-%m-%d"),
        license=license,
        language=parsed.language,
        oi_source=oi_source(kind, paired_pdf=paired_pdf is not None),
        ori_meta=document_ori_meta(
            source_uri=path.resolve().as_uri() + (f"#{page.record_id}" if page else ""), filename=path.name,
            title=parsed.title, page_count=parsed.page_count, page_offsets=parsed.page_offsets,
            scanned_pages=parsed.scanned_pages,
            metadata={**parsed.metadata, **({"crawl_date": page.crawl_date, "warc_record_id": page.record_id}
                                            if page else {})},
        ),
        quality_signals=signals,
    )
    validate_record(record)
    markdown_file = record["md"] if image_syntax == "html" else write_image_refs(parsed.markdown, image_syntax)
    (folder / f"{stem}.md").write_text(clean_text(markdown_file), encoding="utf-8")
    (folder / f"{stem}.json").write_text(json.dumps(clean_value(record), ensure_ascii=False, indent=1),
                                         encoding="utf-8")
    return record, stem


@dataclass(frozen=True)
class Converted:
    """What ``pin convert`` reports for one converted input (plain values, returned by a worker)."""

    folder: str
    pages: int
    images: int
    seconds: float


def convert_to_folder(
    document: Input, out_dir: str, options: RenderOptions, source_dataset: str, license: str, limits: DocumentLimits,
    image_syntax: ImageSyntax = "markdown",
) -> Converted:
    """:func:`convert_file` as a worker task: plain arguments in, a plain summary out."""
    started = time.perf_counter()
    record, folder = _convert_file(document.path, Path(out_dir), options, source_dataset, license, limits, None,
                                   image_syntax, document)
    return Converted(str(folder), len(record["overall_image"]), len(record["content_image"]),
                     time.perf_counter() - started)


def convert_files(
    paths: Sequence[Path], out_dir: Path, options: RenderOptions, *, source_dataset: str = "local",
    license: str = "unknown", limits: DocumentLimits | None = None, workers: int = 1,
    image_syntax: ImageSyntax = "markdown",
) -> Iterator[tuple[str, Converted | TaskFailure]]:
    """Convert each document of ``paths`` (a file, or each HTML record of a WARC file) in a worker pool; yield
    ``(label, summary or failure)`` in input order (see :attr:`Input.label`).

    A worker killed mid-document (timeout, memory, crash) may leave its staging folder; it is removed here.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    items = list(expand_inputs(paths))
    yield from (item for item in items if not isinstance(item, Input))  # WARC files that broke off or hold no page
    documents = [item for item in items if isinstance(item, Input)]
    if not documents:
        return
    with batch_fetch_cache(limits or DocumentLimits()) as limits:  # remote images: each URL once per run
        results = run_isolated(
            convert_to_folder, documents,
            args_of=lambda d: (d, str(out_dir), options, source_dataset, license, limits, image_syntax),
            workers=max(1, min(workers, len(documents))), timeout_s=limits.timeout_s, memory_mb=limits.memory_mb,
            max_image_pixels=limits.max_image_pixels,
        )
        for document, result in results:
            if isinstance(result, TaskFailure):
                folder = out_dir / document.folder if document.folder else out_dir
                for leftover in folder.glob(_staging_prefix(document.name) + "*"):
                    shutil.rmtree(leftover, ignore_errors=True)
            yield document.label, result
