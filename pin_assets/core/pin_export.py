"""Writing PIN records out in the two layouts a user can pick.

``folders`` (PIN-14M's own card)::

    partNN/partNN.jsonl   partNN/content_image/NAME   partNN/overall_image/NAME

``hub`` (the layout of the m-a-p/PIN-14M release on the Hugging Face hub)::

    data/<subset>/partNNNNN/partNNNNN.jsonl
    data/<subset>/partNNNNN/content_image.tar   (or content_image.tar.part00, .part01, ...)
    data/<subset>/partNNNNN/overall_image.tar   (or overall_image.tar.part00, ...)

Tar members are named as the records name them (``content_image/NAME``, ``overall_image/NAME``). A tar
larger than ``tar_part_bytes`` is cut into numbered parts *at member boundaries*: ``cat`` of the parts
is exactly one valid tar (the release's ``cat content_image.tar.part* > content_image.tar``), and each
part on its own is also readable by ``tarfile`` and GNU tar, holding whole members.

The writers only need a store with ``copy``, ``put_file`` and ``get_bytes`` (the storage resource), and
stream: one part's JSONL and tars are built in a scratch folder, uploaded, then deleted, so memory and
scratch space are bounded by a part, never by the batch.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal, Protocol

from pin_assets.core.jsonl import dumps_line

ExportLayout = Literal["folders", "hub"]
EXPORT_LAYOUTS: tuple[ExportLayout, ...] = ("folders", "hub")
MAX_FILES_PER_FOLDER = 100_000
TAR_KINDS = ("content_image", "overall_image")


class ExportStore(Protocol):
    def copy(self, src_key: str, dst_key: str) -> None: ...
    def put_file(self, key: str, path: Path) -> None: ...
    def get_bytes(self, key: str) -> bytes: ...


class _Part:
    """What the part being filled holds so far, to decide when the next one starts."""

    def __init__(self) -> None:
        self.lines = 0
        self.content: set[str] = set()
        self.overall = 0


class PartWriter:
    """Fills parts in turn, starting a new one before a part exceeds its documents or its file limit.

    ``image_key(name)`` is where a content image is stored; overall images are given per record as
    their storage keys, in the record's order. Subclasses put the files of a part where their layout
    wants them.
    """

    jsonl_name: Callable[[int], str]

    def __init__(self, store: ExportStore, prefix_of: Callable[[int], str], image_key: Callable[[str], str],
                 max_docs: int):
        if max_docs < 1:
            raise ValueError("max_docs_per_part must be at least 1")
        self.store = store
        self.prefix_of = prefix_of
        self.image_key = image_key
        self.max_docs = max_docs
        self.index = -1
        self.parts: list[str] = []
        self._scratch = Path(tempfile.mkdtemp(prefix="pin-export-"))
        self._jsonl: IO[str] | None = None
        self._part = _Part()

    def add(self, record: dict[str, Any], render_keys: list[str]) -> None:
        part = self._part
        new_content = [p for p in dict.fromkeys(record["content_image"]) if p not in part.content]
        if self._jsonl is None or (part.lines and (
            part.lines >= self.max_docs
            or len(part.content) + len(new_content) > MAX_FILES_PER_FOLDER
            or part.overall + len(render_keys) > MAX_FILES_PER_FOLDER
        )):
            self._start_part()
            new_content = list(dict.fromkeys(record["content_image"]))
        for path in new_content:
            self._add_file(path, self.image_key(PurePosixPath(path).name))
        self._part.content.update(new_content)
        for path, key in zip(record["overall_image"], render_keys, strict=True):
            self._add_file(path, key)
        self._part.overall += len(render_keys)
        assert self._jsonl is not None
        self._jsonl.write(dumps_line(record))
        self._part.lines += 1

    def close(self) -> list[str]:
        """Finish the last part; return the prefixes of every part written."""
        self._finish_part()
        shutil.rmtree(self._scratch, ignore_errors=True)
        return self.parts

    # -- per layout -------------------------------------------------------------------------------

    def _add_file(self, path: str, key: str) -> None:
        raise NotImplementedError

    def _open_files(self) -> None:
        """Called when a part starts, after its index is set."""

    def _close_files(self) -> list[tuple[str, Path]]:
        """Called when a part ends: the (relative name, local file) pairs to upload besides the JSONL."""
        return []

    # -- shared -------------------------------------------------------------------------------------

    def _start_part(self) -> None:
        self._finish_part()
        self.index += 1
        self._part = _Part()
        self._jsonl = open(self._scratch / "part.jsonl", "w", encoding="utf-8", newline="\n")  # noqa: SIM115
        self._open_files()

    def _finish_part(self) -> None:
        if self._jsonl is None:
            return
        self._jsonl.close()
        self._jsonl = None
        extra = self._close_files()
        prefix = self.prefix_of(self.index)
        if self._part.lines:
            for name, local in extra:
                self.store.put_file(f"{prefix}/{name}", local)
            self.store.put_file(f"{prefix}/{self.jsonl_name(self.index)}", self._scratch / "part.jsonl")
            self.parts.append(prefix)
        for _, local in extra:
            local.unlink(missing_ok=True)


class FolderPartWriter(PartWriter):
    """``partNN/partNN.jsonl`` with the images copied into ``content_image/`` and ``overall_image/``."""

    @staticmethod
    def jsonl_name(index: int) -> str:
        return f"part{index:02d}.jsonl"

    def _add_file(self, path: str, key: str) -> None:
        self.store.copy(key, f"{self.prefix_of(self.index)}/{path}")


class HubPartWriter(PartWriter):
    """``partNNNNN/partNNNNN.jsonl`` with ``content_image.tar*`` and ``overall_image.tar*`` beside it."""

    def __init__(self, *args: Any, tar_part_bytes: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.tar_part_bytes = tar_part_bytes
        self._tars: dict[str, SplitTarWriter] = {}

    @staticmethod
    def jsonl_name(index: int) -> str:
        return f"part{index:05d}.jsonl"

    def _open_files(self) -> None:
        self._tars = {kind: SplitTarWriter(self._scratch / f"{kind}.tar", self.tar_part_bytes) for kind in TAR_KINDS}

    def _add_file(self, path: str, key: str) -> None:
        kind = PurePosixPath(path).parts[0]
        self._tars[kind].add(path, self.store.get_bytes(key))

    def _close_files(self) -> list[tuple[str, Path]]:
        files = []
        for tar in self._tars.values():
            files += [(local.name, local) for local in tar.close()]
        return files


class _RotatingFile(io.RawIOBase):
    """A write-only file that the caller can switch to a new underlying file between writes."""

    def __init__(self, open_next: Callable[[], IO[bytes]]):
        self._open_next = open_next
        self._file = open_next()
        self.in_current = 0
        self.total = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._file.write(data)
        self.in_current += len(data)
        self.total += len(data)
        return len(data)

    def tell(self) -> int:
        return self.total

    def rotate(self) -> None:
        self._file.close()
        self._file = self._open_next()
        self.in_current = 0

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


class SplitTarWriter:
    """One tar stream written into numbered part files of at most ``part_bytes`` each (where possible).

    A member never spans two parts; a member bigger than ``part_bytes`` gets a part of its own. With a
    single part the file is ``NAME.tar``; with more, ``NAME.tar.part00``, ``NAME.tar.part01``, ...
    """

    def __init__(self, path: Path, part_bytes: int):
        if part_bytes < 10240:
            raise ValueError("tar_part_bytes must be at least 10240 (one tar record)")
        self.path = path
        self.part_bytes = part_bytes
        self.files: list[Path] = []
        self.members = 0
        self._names: set[str] = set()
        self._out = _RotatingFile(self._next_file)
        self._tar = tarfile.open(fileobj=self._out, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115

    def _next_file(self) -> IO[bytes]:
        path = self.path.with_name(f"{self.path.name}.part{len(self.files):02d}")
        self.files.append(path)
        return open(path, "wb")  # noqa: SIM115 (closed by _RotatingFile)

    def add(self, name: str, data: bytes) -> None:
        if name in self._names:
            return
        size = 512 + -(-len(data) // 512) * 512  # header + data padded to whole blocks
        if self._out.in_current and self._out.in_current + size > self.part_bytes:
            self._out.rotate()
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        self._tar.addfile(info, io.BytesIO(data))
        self._names.add(name)
        self.members += 1

    def close(self) -> list[Path]:
        """Finish the tar (its end blocks go to the last part); return the part files, renamed."""
        self._tar.close()
        self._out.close()
        if len(self.files) == 1:
            single = self.path
            self.files[0].replace(single)
            self.files = [single]
        return self.files


def tar_parts(files: list[str]) -> list[str]:
    """The part files of one split tar, in order, given the file names of a part folder."""
    return sorted(name for name in files if name.endswith(".tar") or ".tar.part" in name)


def read_split_tar(parts: list[bytes]) -> Iterator[tuple[str, bytes]]:
    """Members of a tar given as its parts' bytes, in order (what ``cat parts > x.tar`` would read)."""
    with tarfile.open(fileobj=io.BytesIO(b"".join(parts)), mode="r:") as tar:
        for member in tar:
            handle = tar.extractfile(member)
            if handle is not None:
                yield member.name, handle.read()
