"""Check a batch source at the door: it exists, it can be reached, and it holds a document we convert.

`pin batch add` runs this before registering anything, so a typo in a path or an empty folder is a
one-line error at once instead of a failed run later. Local files are judged by the same
:func:`~pin_assets.core.sources.triage.triage` ingest uses, from their first bytes where that is enough, and
the walk stops at the first convertible document or container. Remote sources (S3 prefixes, URL
manifests) are listed, not downloaded: a listing that answers with at least one object is enough.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pin_assets.core import kinds
from pin_assets.core.sources.listing import (
    SKIPPED_NAMES,
    S3ClientFactory,
    SourceError,
    is_url_manifest,
    iter_source,
)
from pin_assets.core.sources.triage import FileBytes, triage


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
        assert file.path is not None
        verdict = triage(FileBytes.at(file.path, file.name))
        if verdict.role == "image":
            refused["image (a document's asset)"] += 1
        elif verdict.role == "image_archive":
            refused["image archive (images of dataset rows)"] += 1
        elif verdict.kind == "unknown":
            reason, _, message = (verdict.error or "unsupported: ").partition(": ")
            refused[f"{reason} ({message.removesuffix(' is not a supported document format')})"] += 1
        else:
            return SourceCheck(files_seen=seen, first_document=file.uri, first_kind=verdict.kind)
    if not seen:
        skipped = ", ".join(sorted(SKIPPED_NAMES))
        raise SourceProblem(f"source {source_uri!r} holds no files (hidden files and {skipped} are skipped)")
    found = ", ".join(f"{count} {what}" for what, count in refused.most_common(4))
    raise SourceProblem(
        f"source {source_uri!r} holds no supported document ({kinds.accepted_labels()}): "
        f"{seen} file{'s' if seen != 1 else ''}, {found}"
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
