"""A toy input kind that tests register at run time: a sniffer and a converter, nothing else.

Its functions live at module level so the worker pools, which start fresh interpreters, can import them
(the registry ships run-time kinds to them by reference).
"""

from __future__ import annotations

from pathlib import Path

from pin_assets.core.document import ParsedDocument
from pin_assets.core.kinds import ConvertJob, Probe, SourceKind

TOY_MAGIC = b"TOYDOC 1\n"


def sniff_toy(probe: Probe) -> bool:
    return probe.data.startswith(TOY_MAGIC)


def convert_toy(data: bytes, job: ConvertJob) -> ParsedDocument:
    """``TOYDOC 1`` then ``title: ...`` then paragraphs: the title as a heading, each paragraph kept."""
    head, _, body = data[len(TOY_MAGIC):].decode().partition("\n")
    title = head.removeprefix("title: ").strip()
    return ParsedDocument(markdown=f"# {title}\n\n{body.strip()}\n", title=title, metadata={"toy": "yes"})


TOY = SourceKind(name="toy", label="toy notes", mime="text/x-toy", extensions=("toy",), sniffer=sniff_toy,
                 converter=convert_toy, priority=105, description="toy notes (registered by a test)")


def toy_file(folder: Path, name: str = "notes.toy") -> Path:
    path = folder / name
    path.write_bytes(TOY_MAGIC + b"title: Field Notes\nThe heron waited in the reeds until dusk.\n")
    return path
