"""One parser in its own process, driven over stdin: the parse benchmark's contenders.

Each tool gets a process of its own because importing ``pymupdf4llm`` switches PyMuPDF globally into
its layout mode (``pymupdf.layout.activate()``), which would change what our own converter sees if both
ran in one interpreter. Commands, one per line: ``time`` parses every file and answers the seconds
taken; ``cpu [PDF]`` parses PDF (default: the first file) untimed, for lazy imports and model
loading, then every file, and answers the CPU seconds taken, those spent in the layout model (ours),
and the process's peak RSS; ``dump DIR`` writes ``DIR/<stem>.md`` per file for the quality scorer;
``ocr`` (ours only) answers how many pages were OCR'd; ``quit`` ends. ``pin-layout-off`` is ours with
``layout_model="off"``; ``pymupdf4llm-layout-noocr`` its defaults with ``use_ocr=False``.

Usage: ``python -m bench.parse_worker TOOL PDF...`` with TOOL one of :data:`TOOLS`.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

TOOLS = ("pin", "pin-layout-off", "pymupdf4llm-layout", "pymupdf4llm-layout-noocr", "pymupdf4llm-nolayout",
         "gettext")
MODEL_CPU = [0.0]  # CPU seconds in the layout model's page calls (render at its input size + inference)


def load_tool(tool: str) -> Callable[[Path], str]:
    """A function from PDF path to Markdown for ``tool``, imported only in this process."""
    if tool in ("pin", "pin-layout-off"):
        _count_model_cpu()
        layout_model = "off" if tool == "pin-layout-off" else "auto"
        return lambda path: pin_convert(path, layout_model).markdown
    if tool == "gettext":
        import pymupdf

        def plain(path: Path) -> str:
            with pymupdf.open(path) as doc:
                return "\n".join(page.get_text() for page in doc)

        return plain
    import pymupdf4llm

    # pymupdf4llm 2.0: layout mode is on by default when pymupdf_layout is installed; use_layout(False)
    # restores the older heuristic converter.
    pymupdf4llm.use_layout(tool != "pymupdf4llm-nolayout")
    if tool == "pymupdf4llm-layout-noocr":  # its defaults OCR pages they judge to need it (Tesseract)
        return lambda path: pymupdf4llm.to_markdown(str(path), show_progress=False, use_ocr=False)
    return lambda path: pymupdf4llm.to_markdown(str(path), show_progress=False)


def pin_convert(path: Path, layout_model: str = "auto"):
    """Our converter as the pipeline runs it: with OCR settings, so the per-page OCR decision is timed too."""
    from pin_assets.core.ocr_settings import OcrSettings
    from pin_assets.core.pdf import pdf_to_markdown

    return pdf_to_markdown(path.read_bytes(), ocr=OcrSettings(), layout_model=layout_model)


def _count_model_cpu() -> None:
    """Wrap the layout model's per-page call so its CPU seconds add up in :data:`MODEL_CPU`."""
    from pin_assets.core.pdf import layout

    predict = layout._predict

    def counted(*args, **kwargs):
        began = time.process_time()
        try:
            return predict(*args, **kwargs)
        finally:
            MODEL_CPU[0] += time.process_time() - began

    layout._predict = counted


def _cpu() -> float:
    """CPU seconds of this process and its finished children (an OCR engine run as a subprocess)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


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
        elif command == "cpu":
            convert(Path(argument) if argument else pdfs[0])
            began, model_began = _cpu(), MODEL_CPU[0]
            for pdf in pdfs:
                convert(pdf)
            answer = {"cpu": _cpu() - began, "model_cpu": MODEL_CPU[0] - model_began,
                      "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
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
