"""Check a batch source at the door: it exists, it can be reached, and it holds a document we convert.

`pin batch add` runs this before registering anything, so a typo in a path or an empty folder is a
one-line error at once instead of a failed run later. Local files are judged like ingest judges them
(images are assets of documents, everything else goes through :func:`detect_kind`) from their first
bytes only, and the walk stops at the first convertible document. Remote sources (S3 prefixes, URL
manifests) are listed, not downloaded: a listing that answers with at least one object is enough.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pin_assets.core.document import ConversionError
from pin_assets.core.html.warc import is_warc
from pin_assets.core.sources.assets import is_image_file
from pin_assets.core.sources.detect import detect_kind
from pin_assets.core.sources.listing import (
    SKIPPED_NAMES,
    S3ClientFactory,
    SourceError,
    SourceFile,
    is_url_manifest,
    iter_source,
)

HEAD_BYTES = 64 * 1024  # enough for every content sniff detect_kind does


class SourceProblem(ValueError):
    """The source cannot become a batch; the message is one line that names the source and the reason."""


@dataclass(frozen=True)
class SourceCheck:
    """What the check saw: files looked at before the first document, and that document (local sources)."""

    files_seen: int
    first_document: str | None = None
    first_kind: str | None = None


def check_source(source_uri: str, *, s3_client_factory: S3ClientFactory | None = None) -> SourceCheck:
    """Raise :class:`SourceProblem` unless ``source_uri`` lists at least one file we would convert."""
    remote = source_uri.startswith(("s3://", "http://", "https://")) or is_url_manifest(source_uri)
    if not remote:
        path = Path(source_uri.removeprefix("file://")).expanduser()
        if not path.exists():
            raise SourceProblem(f"source {str(path)!r} does not exist")
    try:
        files = iter_source(source_uri, s3_client_factory=s3_client_factory)
        return _first_remote(source_uri, files) if remote else _first_local(source_uri, files)
    except SourceProblem:
        raise
    except (OSError, SourceError, ValueError) as exc:
        raise SourceProblem(f"source {source_uri!r}: {_one_line(exc)}") from exc
    except Exception as exc:  # botocore's connection and client errors: unreachable endpoint, no bucket, denied
        if type(exc).__module__.startswith(("botocore", "boto3")):
            raise SourceProblem(f"source {source_uri!r}: {type(exc).__name__}: {_one_line(exc)}") from exc
        raise


def _first_remote(source_uri: str, files) -> SourceCheck:  # noqa: ANN001 (an iterator of SourceFile)
    first = next(iter(files), None)
    if first is None:
        raise SourceProblem(f"source {source_uri!r} lists no files")
    return SourceCheck(files_seen=1, first_document=first.uri)


def _first_local(source_uri: str, files) -> SourceCheck:  # noqa: ANN001 (an iterator of SourceFile)
    refused: Counter[str] = Counter()
    seen = 0
    for file in files:
        seen += 1
        kind = _kind_of(file)
        if kind.startswith("!"):
            refused[kind[1:]] += 1
            continue
        return SourceCheck(files_seen=seen, first_document=file.uri, first_kind=kind)
    if not seen:
        skipped = ", ".join(sorted(SKIPPED_NAMES))
        raise SourceProblem(f"source {source_uri!r} holds no files (hidden files and {skipped} are skipped)")
    found = ", ".join(f"{count} {what}" for what, count in refused.most_common(4))
    raise SourceProblem(
        f"source {source_uri!r} holds no supported document (PDF, JATS XML, HTML, WARC, Markdown, text, "
        "OBELICS or MMC4 rows): "
        f"{seen} file{'s' if seen != 1 else ''}, {found}"
    )


def _kind_of(file: SourceFile) -> str:
    """The document kind, or ``!what`` for a file that is not a document (an image, an archive, empty)."""
    assert file.path is not None
    with open(file.path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
    if is_image_file(file.name, head[:16]):
        return "!image (a document's asset)"
    if is_warc(file.name, head):
        return "warc"
    try:
        return detect_kind(head, file.name)
    except ConversionError as exc:
        dataset = _dataset_kind(file)  # OBELICS/MMC4 rows: Parquet (schema in the footer) or JSON Lines
        if dataset:
            return dataset
        return f"!{exc.reason} ({str(exc).removesuffix(' is not a supported document format')})"


def _dataset_kind(file: SourceFile) -> str | None:
    from pin_assets.core.datasets.shards import sniff_dataset, unwrap_shard

    assert file.path is not None
    try:
        return sniff_dataset(unwrap_shard(Path(file.path).read_bytes()))
    except (ConversionError, OSError, ValueError):
        return None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
