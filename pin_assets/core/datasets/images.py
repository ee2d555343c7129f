"""Where the images of dataset rows are: a local folder or tar files as img2dataset writes them.

Images are never fetched. img2dataset writes ``KEY.jpg`` beside ``KEY.json`` holding the ``url``; an
image is looked up by file name (MMC4's ``image_name``) or by URL (OBELICS). An image that is not there
is listed in the record's ``missing_images``.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path, PurePosixPath

from pin_assets.core.sources.assets import IMAGE_SUFFIXES


class ImageIndex:
    """Images in a local folder and/or tar files, by file name and by source URL, read on demand.

    img2dataset writes ``KEY.jpg`` (or ``.png``/``.webp``) with ``KEY.json`` holding the ``url``; that
    sidecar is how an OBELICS image URL finds its file. Tar members are indexed by offset, so a tar of
    thousands of images is never held in memory.
    """

    def __init__(self) -> None:
        self._by_name: dict[str, tuple[Path, str | None]] = {}
        self._by_url: dict[str, tuple[Path, str | None]] = {}
        self._tar_members: dict[tuple[Path, str], tarfile.TarInfo] = {}

    @classmethod
    def from_path(cls, root: Path) -> ImageIndex:
        index = cls()
        root = root.expanduser()
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        stems: dict[tuple[Path, str], str] = {}
        urls: dict[tuple[Path, str], str] = {}
        for path in files:
            if path.suffix.lower() == ".tar":
                index._add_tar(path)
            elif path.suffix.lower() in IMAGE_SUFFIXES:
                index._by_name.setdefault(path.name, (path, None))
                stems[(path.parent, path.stem)] = path.name
            elif path.suffix.lower() == ".json":
                url = _sidecar_url(path.read_bytes())
                if url:
                    urls[(path.parent, path.stem)] = url
        for key, url in urls.items():
            if key in stems:
                index._by_url.setdefault(url, index._by_name[stems[key]])
        return index

    def _add_tar(self, path: Path) -> None:
        stems: dict[str, str] = {}
        sidecars: dict[str, str] = {}
        with tarfile.open(path) as tar:
            for member in tar:
                if not member.isfile():
                    continue
                member_path = PurePosixPath(member.name)
                stem = str(member_path.with_suffix(""))
                if member_path.suffix.lower() in IMAGE_SUFFIXES:
                    self._tar_members[(path, member.name)] = member
                    self._by_name.setdefault(member_path.name, (path, member.name))
                    stems[stem] = member.name
                elif member_path.suffix.lower() == ".json" and member.size < 1 << 20:
                    handle = tar.extractfile(member)
                    url = _sidecar_url(handle.read()) if handle else None
                    if url:
                        sidecars[stem] = url
        for stem, url in sidecars.items():
            if stem in stems:
                self._by_url.setdefault(url, (path, stems[stem]))

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, *, name: str | None = None, url: str | None = None) -> bytes | None:
        """The image's bytes by file name first, then by URL; ``None`` when it is not there."""
        where = (self._by_name.get(name) if name else None) or (self._by_url.get(url) if url else None)
        if where is None:
            return None
        path, member = where
        if member is None:
            return path.read_bytes()
        info = self._tar_members[(path, member)]
        with open(path, "rb") as handle:
            handle.seek(info.offset_data)
            return handle.read(info.size)


def _sidecar_url(data: bytes) -> str | None:
    try:
        value = json.loads(data)
    except ValueError:
        return None
    url = value.get("url") if isinstance(value, dict) else None
    return url if isinstance(url, str) and url else None


def is_image_archive(name: str, data: bytes) -> bool:
    """A tar file holding images (img2dataset's output): image storage for dataset rows, not a document."""
    if not name.lower().endswith(".tar"):
        return False
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            return any(PurePosixPath(m.name).suffix.lower() in IMAGE_SUFFIXES for m in tar if m.isfile())
    except (tarfile.TarError, OSError):
        return False


class LazyImageIndex:
    """An :class:`ImageIndex` built on first use, so batches without dataset files never walk the folder.

    Only local folders and tar files are indexed: images are never fetched. An ``images_uri`` set
    explicitly to something else is an error; a non-local *default* (the source itself on S3) just
    means no images, each recorded as missing.
    """

    def __init__(self, uri: str, *, explicit: bool):
        self.uri = uri
        self.explicit = explicit
        self._index: ImageIndex | None = None
        self._built = False

    def get(self) -> ImageIndex | None:
        if not self._built:
            self._built = True
            local = "://" not in self.uri or self.uri.startswith("file://")
            path = Path(self.uri.removeprefix("file://")).expanduser()
            if local and path.exists():
                self._index = ImageIndex.from_path(path)
            elif self.explicit:
                raise ValueError(f"images_uri {self.uri!r} must be an existing local folder or tar file")
        return self._index
