"""Where a batch's raw documents come from: listing a source URI as a stream of files.

A source is a local folder (walked recursively, hidden files skipped), a single file, or the bundled
``sample`` corpus. Each file is read only when the ingest loop reaches it, so a batch of any size
streams through constant memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
SKIPPED_NAMES = frozenset({"PROVENANCE.md", "README.md", "batch.json"})


@dataclass(frozen=True)
class SourceFile:
    """One raw file of a source: where it came from, and how to read it."""

    uri: str
    name: str
    path: Path

    def read(self) -> bytes:
        return self.path.read_bytes()


def iter_source(source_uri: str) -> Iterator[SourceFile]:
    """Files of a source in a stable (sorted) order, so ingest is deterministic."""
    path = Path(source_uri.removeprefix("file://")).expanduser()
    if path.is_file():
        yield SourceFile(path.resolve().as_uri(), path.name, path)
        return
    if not path.is_dir():
        raise FileNotFoundError(f"source {source_uri!r} is neither a folder nor a file")
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path)
        if any(part.startswith(".") for part in relative.parts) or file.name in SKIPPED_NAMES:
            continue
        if file.is_file():
            yield SourceFile(file.resolve().as_uri(), file.name, file)
