"""One parser in its own process, driven over stdin: the parse benchmark's contenders.

Each tool gets a process of its own because importing ``pymupdf4llm`` switches PyMuPDF globally into
its layout mode (``pymupdf.layout.activate()``), which would change what our own converter sees if both
ran in one interpreter. Commands, one per line: ``time`` parses every file and answers the seconds
taken; ``dump DIR`` writes ``DIR/<stem>.md`` per file for the quality scorer; ``ocr`` (ours only)
answers how many pages were OCR'd; ``quit`` ends.

Usage: ``python -m bench.parse_worker TOOL PDF...`` with TOOL one of :data:`TOOLS`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

TOOLS = ("pin", "pymupdf4llm-layout", "pymupdf4llm-nolayout", "gettext")


def load_tool(tool: str) -> Callable[[Path], str]:
    """A function from PDF path to Markdown for ``tool``, imported only in this process."""
    if tool == "pin":
        return lambda path: pin_convert(path).markdown
    if tool == "gettext":
        import pymupdf

        def plain(path: Path) -> str:
            with pymupdf.open(path) as doc:
                return "\n".join(page.get_text() for page in doc)

        return plain
    import pymupdf4llm

    # pymupdf4llm 2.0: layout mode is on by default when pymupdf_layout is installed; use_layout(False)
    # restores the older heuristic converter.
    pymupdf4llm.use_layout(tool == "pymupdf4llm-layout")
    return lambda path: pymupdf4llm.to_markdown(str(path), show_progress=False)


def pin_convert(path: Path):
    """Our converter as the pipeline runs it: with OCR settings, so the per-page OCR decision is timed too."""
    from pin_assets.core.ocr_settings import OcrSettings
    from pin_assets.core.pdf import pdf_to_markdown

    return pdf_to_markdown(path.read_bytes(), ocr=OcrSettings())


def serve(tool: str, pdfs: list[Path]) -> None:
    # Answers go to a private copy of stdout; fd 1 itself now points at stderr, so whatever a library
    # prints while parsing (pymupdf4llm prints notices) cannot corrupt the protocol.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    convert = load_tool(tool)
    print(json.dumps({"ready": tool}), file=answers, flush=True)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "time":
            began = time.perf_counter()
            for pdf in pdfs:
                convert(pdf)
            answer: dict[str, object] = {"seconds": time.perf_counter() - began}
        elif command == "dump":
            out = Path(argument)
            out.mkdir(parents=True, exist_ok=True)
            for pdf in pdfs:
                (out / f"{pdf.stem}.md").write_text(convert(pdf), encoding="utf-8")
            answer = {"written": len(pdfs)}
        elif command == "ocr" and tool == "pin":  # pages OCR'd, and pages in all
            docs = [pin_convert(pdf) for pdf in pdfs]
            answer = {"ocr_pages": sum(len(d.metadata.get("ocr_pages", ())) for d in docs),
                      "pages": sum(d.page_count for d in docs)}
        elif command == "quit":
            return
        else:
            answer = {"error": f"unknown command {command!r}"}
        print(json.dumps(answer), file=answers, flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in TOOLS:
        sys.exit(__doc__)
    serve(sys.argv[1], [Path(p) for p in sys.argv[2:]])
