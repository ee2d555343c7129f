"""Every input kind in one place: what it is called, how it is recognised, converted and rendered.

A *document kind* (:class:`SourceKind`) is one format that becomes one record: PDF, JATS XML, HTML, Markdown,
text, EPUB, a stored OBELICS or MMC4 row. A *container kind* (:class:`ContainerKind`) is a file that holds
many documents and is expanded at ingest: a WARC crawl, a dataset shard. Everything that used to branch on a
kind's name (detection, the converter to call, paged or compiled overall images, which files travel with a
document, the raw object's extension and MIME type, the door check's message, the README's table) reads
these entries, so adding a kind is one module (its sniffer and converter) plus one :func:`register` call.

Converters, sniffers and renderers are named as ``"module:function"`` strings and imported on first use, so
importing the registry costs nothing (a worker that only converts HTML never loads MuPDF). A callable works
too: that is how a kind defined somewhere else (a test, a plugin module) registers.

Detection runs the sniffers in ascending ``priority``. Sniffers below :data:`BINARY_GATE` see any bytes
(PDF, EPUB: binary formats); then images, archives and other binary content are refused, so the sniffers at
and above the gate (markup, text) only ever see text.

Worker processes (the per-document pools) are started fresh, not forked from the caller, so kinds registered
at run time travel to them: :func:`runtime_registrations` is handed to every worker's initializer, which
calls :func:`install`. Such a kind's functions must therefore be importable by name (module level).

Adding a kind: write its module (``sniff_x(probe) -> bool`` and ``convert_x(data, job) -> ParsedDocument``,
where ``job`` carries the limits, the assets and the URL) and add one entry to :data:`BUILTIN_KINDS`::

    SourceKind(name="x", label="X", mime="application/x-x", extensions=("x",), priority=30,
               sniffer="pin_assets.core.x:sniff_x", converter="pin_assets.core.x:convert_x")

Binary formats take a priority below :data:`BINARY_GATE`; a file holding many documents is a
:class:`ContainerKind` whose expander yields them (an e-print tar of several papers, a shard).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from pin_assets.core.document import ConversionError

if TYPE_CHECKING:
    from pin_assets.core.limits import DocumentLimits

AssetNeed = Literal["none", "beside", "rows"]
Ref = str | Callable[..., Any]

BINARY_GATE = 100
SNIFF_BYTES = 4096


@dataclass(frozen=True)
class ConvertJob:
    """What a converter gets besides the document's bytes.

    ``assets`` maps the references the document makes (relative paths, absolute URLs of images captured in
    the same WARC, or a dataset row's image refs) to bytes; ``url`` is a web page's own address.
    """

    limits: DocumentLimits
    assets: Mapping[str, bytes] | None = None
    url: str | None = None


@dataclass
class Probe:
    """A file's bytes and name as the document sniffers look at them; ``memo`` shares work between sniffers."""

    data: bytes
    name: str | None = None
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def head(self) -> bytes:
        return self.data[:SNIFF_BYTES]

    @property
    def extension(self) -> str:
        return PurePosixPath(self.name).suffix.lower() if self.name else ""


@dataclass(frozen=True)
class SourceKind:
    """One document format.

    ``extensions``: the first names the stored raw object (``raw/<batch>/<sha>.<ext>``); all of them are the
    names files of the kind go by (the sniffers decide, names only break ties where a sniffer says so).
    ``sniffer``: ``(Probe) -> bool``, tried in ``priority`` order; ``None`` for a kind that never comes as a
    file of its own (a dataset row, carved out by its container). ``converter``: ``(bytes, ConvertJob) ->
    ParsedDocument``. ``paged``: the document has pages of its own, rasterized by ``pages`` (``(bytes,
    RenderOptions, max_pages) -> Iterator[RenderedPage]``); every other kind gets a compiled render of its
    Markdown. ``assets``: what travels with a document: ``none`` (self-contained), ``beside`` (files next to
    it, found by the references in its markup), ``rows`` (stored beside it at ingest and listed by
    ``references``, ``(bytes) -> Mapping[ref, url]``). ``paired_pages``: a document of that kind with the same
    folder and stem gives this one's overall images (a PMC article's PDF beside its JATS XML).
    """

    name: str
    label: str
    mime: str
    extensions: tuple[str, ...]
    converter: Ref
    sniffer: Ref | None = None
    priority: int = 500
    paged: bool = False
    pages: Ref | None = None
    assets: AssetNeed = "none"
    references: Ref | None = None
    paired_pages: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.paged and self.pages is None:
            raise ValueError(f"kind {self.name!r} is paged but names no page renderer")
        if self.assets == "rows" and self.references is None:
            raise ValueError(f"kind {self.name!r} stores rows' assets but names no function listing them")
        if not self.extensions:
            raise ValueError(f"kind {self.name!r} needs at least one file extension")

    @property
    def extension(self) -> str:
        """The stored raw object's extension."""
        return self.extensions[0]

    def sniff(self, probe: Probe) -> bool:
        return self.sniffer is not None and bool(resolve(self.sniffer)(probe))

    def convert(self, data: bytes, job: ConvertJob) -> Any:
        return resolve(self.converter)(data, job)

    def render_pages(self, data: bytes, options: Any, max_pages: int | None) -> Any:
        return resolve(self.pages)(data, options, max_pages=max_pages)


@dataclass(frozen=True)
class ContainerKind:
    """A file that holds many documents, expanded at ingest into documents (and the assets they share).

    ``sniffer``: ``(FileBytes) -> str | None``, a non-empty tag when the file is one (handed to the expander:
    which row format a shard holds). ``expander``: ``(bytes, ContainerFile, tag) -> Iterator[ExpandedDocument
    | ExpandedAsset]`` (see :mod:`pin_assets.core.sources.expanded`); it may fill ``ContainerFile.summary``
    with counts that ingest adds up per container kind and shows as metadata.
    """

    name: str
    label: str
    extensions: tuple[str, ...]
    sniffer: Ref
    expander: Ref
    priority: int = 500
    description: str = ""

    def sniff(self, file: Any) -> str | None:
        return resolve(self.sniffer)(file) or None

    def expand(self, data: bytes, file: Any, tag: str) -> Any:
        return resolve(self.expander)(data, file, tag)


Entry = SourceKind | ContainerKind

_KINDS: dict[str, SourceKind] = {}
_CONTAINERS: dict[str, ContainerKind] = {}
_RUNTIME: dict[str, Entry] = {}
_LOADED: dict[str, Callable[..., Any]] = {}


def resolve(ref: Ref) -> Callable[..., Any]:
    """The function a ``"module:function"`` string names (imported once), or the callable itself."""
    if callable(ref):
        return ref
    found = _LOADED.get(ref)
    if found is None:
        module, _, attr = ref.partition(":")
        found = _LOADED[ref] = getattr(importlib.import_module(module), attr)
    return found


def register(entry: Entry, *, replace: bool = False) -> Entry:
    """Add a document or container kind; ``replace`` to redefine one. Names are unique across both."""
    taken = entry.name in _KINDS or entry.name in _CONTAINERS
    if taken and not replace:
        raise ValueError(f"a kind named {entry.name!r} is already registered")
    _KINDS.pop(entry.name, None)
    _CONTAINERS.pop(entry.name, None)
    if isinstance(entry, SourceKind):
        _KINDS[entry.name] = entry
    else:
        _CONTAINERS[entry.name] = entry
    if _BUILTIN_DONE:
        _RUNTIME[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove a kind registered at run time (tests clean up with it); built-in kinds stay."""
    if name not in _RUNTIME:
        raise ValueError(f"{name!r} is not a kind registered at run time")
    del _RUNTIME[name]
    _KINDS.pop(name, None)
    _CONTAINERS.pop(name, None)
    _restore_builtin(name)


def runtime_registrations() -> tuple[Entry, ...]:
    """Kinds registered after import, for worker processes to :func:`install`."""
    return tuple(_RUNTIME.values())


def install(entries: Iterable[Entry]) -> None:
    """Register ``entries`` (a worker's copy of its parent's run-time kinds), replacing same-named ones."""
    for entry in entries:
        register(entry, replace=True)


def get(name: str) -> SourceKind:
    """The document kind called ``name``; ``ConversionError("unsupported")`` when there is none."""
    found = _KINDS.get(name)
    if found is None:
        raise ConversionError("unsupported", f"no converter for documents of kind {name!r}")
    return found


def is_registered(name: str) -> bool:
    return name in _KINDS


def kinds() -> tuple[SourceKind, ...]:
    """Every document kind, in detection order (priority, then name)."""
    return tuple(sorted(_KINDS.values(), key=lambda k: (k.priority, k.name)))


def container(name: str) -> ContainerKind:
    return _CONTAINERS[name]


def containers() -> tuple[ContainerKind, ...]:
    return tuple(sorted(_CONTAINERS.values(), key=lambda k: (k.priority, k.name)))


def sniffed_kinds() -> tuple[SourceKind, ...]:
    """Kinds a file can be detected as (those with a sniffer), in detection order."""
    return tuple(k for k in kinds() if k.sniffer is not None)


def mime_type(name: str) -> str:
    found = _KINDS.get(name)
    return found.mime if found else "application/octet-stream"


def raw_extension(name: str) -> str:
    found = _KINDS.get(name)
    return found.extension if found else "bin"


def accepted_labels(*, with_containers: bool = True) -> str:
    """What a source may hold, for messages: ``PDF, JATS XML, ..., WARC or OBELICS/MMC4 rows``."""
    labels = [k.label for k in sniffed_kinds()] + [c.label for c in containers() if with_containers]
    return ", ".join(labels[:-1]) + f" or {labels[-1]}" if len(labels) > 1 else "".join(labels)


def kinds_table() -> str:
    """The README's table of input kinds, generated from the registry (a test keeps the README in sync)."""
    lines = [
        "| kind | what | recognised by | file names | overall images | files it needs |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    needs = {"none": "none", "beside": "files beside it", "rows": "images stored with its row"}
    for k in kinds():
        names = " ".join(f"`.{e}`" for e in k.extensions)
        found = "content" if k.sniffer else "its container"
        pages = "its own pages" if k.paged else "compiled render"
        if k.paired_pages:
            pages += f" (or a {get(k.paired_pages).label} beside it)"
        lines.append(f"| `{k.name}` | {k.description or k.label} | {found} | {names} | {pages} | {needs[k.assets]} |")
    for c in containers():
        names = " ".join(f"`.{e}`" for e in c.extensions)
        lines.append(f"| `{c.name}` | {c.description or c.label} | content | {names} | per document | "
                     "many documents in one file |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------
# The built-in kinds

_BUILTIN_DONE = False
_BUILTIN: dict[str, Entry] = {}

_DETECT = "pin_assets.core.sources.detect"

BUILTIN_KINDS: tuple[Entry, ...] = (
    SourceKind(
        name="pdf", label="PDF", mime="application/pdf", extensions=("pdf",),
        sniffer=f"{_DETECT}:sniff_pdf", priority=10, converter="pin_assets.core.pdf:convert_pdf",
        paged=True, pages="pin_assets.core.pdf_pages:render_pdf_pages",
        description="PDF (born-digital or scanned; OCR where the text layer is missing or lies)",
    ),
    SourceKind(
        name="epub", label="EPUB", mime="application/epub+zip", extensions=("epub",),
        sniffer="pin_assets.core.epub.package:sniff_epub", priority=20,
        converter="pin_assets.core.epub.convert:convert_epub",
        description="EPUB books (spine order, images inline, Dublin Core metadata; DRM refused)",
    ),
    SourceKind(
        name="jats", label="JATS XML", mime="application/vnd.jats+xml", extensions=("xml", "nxml"),
        sniffer=f"{_DETECT}:sniff_jats", priority=110, converter="pin_assets.core.jats:convert_jats",
        assets="beside", references="pin_assets.core.markup.references:referenced_paths", paired_pages="pdf",
        description="JATS XML articles (PMC)",
    ),
    SourceKind(
        name="html", label="HTML", mime="text/html", extensions=("html", "htm", "xhtml"),
        sniffer=f"{_DETECT}:sniff_html", priority=120, converter="pin_assets.core.html.markdown:convert_html",
        assets="beside", references="pin_assets.core.markup.references:referenced_paths",
        description="web pages (main content only)",
    ),
    SourceKind(
        name="markdown", label="Markdown", mime="text/markdown",
        extensions=("md", "markdown", "mdown", "mkd", "mdx", "rmd"),
        sniffer=f"{_DETECT}:sniff_markdown", priority=200,
        converter="pin_assets.core.plain_text:convert_markdown", description="Markdown",
    ),
    SourceKind(
        name="text", label="text", mime="text/plain", extensions=("txt", "text"),
        sniffer=f"{_DETECT}:sniff_text", priority=210, converter="pin_assets.core.plain_text:convert_text",
        description="plain text (books, logs, corpora)",
    ),
    SourceKind(
        name="obelics", label="OBELICS row", mime="application/json", extensions=("json",),
        converter="pin_assets.core.datasets.markdown:convert_dataset",
        assets="rows", references="pin_assets.core.datasets.rows:dataset_image_refs",
        description="a row of an OBELICS shard (Parquet or JSON Lines)",
    ),
    SourceKind(
        name="mmc4", label="MMC4 row", mime="application/json", extensions=("json",),
        converter="pin_assets.core.datasets.markdown:convert_dataset",
        assets="rows", references="pin_assets.core.datasets.rows:dataset_image_refs",
        description="a document of an MMC4 shard (JSON Lines)",
    ),
    ContainerKind(
        name="warc", label="WARC", extensions=("warc", "warc.gz"), priority=10,
        sniffer="pin_assets.core.html.warc:sniff_warc", expander="pin_assets.core.html.warc:expand_warc",
        description="WARC crawls: each HTML response a web page, image responses its assets",
    ),
    ContainerKind(
        name="dataset", label="OBELICS/MMC4 rows", extensions=("parquet", "jsonl", "jsonl.gz", "jsonl.zip"),
        priority=50, sniffer="pin_assets.core.datasets.shards:sniff_shard",
        expander="pin_assets.core.datasets.shards:expand_shard",
        description="OBELICS/MMC4 shards: each row a document",
    ),
)


def _restore_builtin(name: str) -> None:
    entry = _BUILTIN.get(name)
    if entry is not None:
        (_KINDS if isinstance(entry, SourceKind) else _CONTAINERS)[name] = entry  # type: ignore[index]


for _entry in BUILTIN_KINDS:
    register(_entry)
    _BUILTIN[_entry.name] = _entry
_BUILTIN_DONE = True
