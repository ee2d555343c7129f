"""An OpenAI-compatible chat endpoint (vLLM, TGI, llama.cpp server, OpenAI) for RealSyn's synthetic text.

Off by default: synthetic captions cost GPU time and a served model, and the pipeline must run without
one. When enabled, each sampled image gets one ``/chat/completions`` call built by
``pin_assets.core.realsyn.synthetic``; calls run on a small thread pool because such servers batch
concurrent requests. The API key comes from an ``EnvVar`` so it never shows in the UI or run storage.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from pin_assets.core.realsyn.synthetic import build_messages, parse_answer

API_KEY_ENV = "PIN_LLM_API_KEY"


class LLMResource(ConfigurableResource):
    """Chat endpoint settings; ``enabled=False`` (default) means no call is ever made."""

    enabled: bool = Field(default=False, description="Write syn_text with the endpoint; off = syn_text empty.")
    base_url: str = Field(default="http://127.0.0.1:8000/v1", description="Endpoint root ending in /v1.")
    model: str = Field(default="", description="Model name as the server knows it.")
    api_key: str = Field(default="", description="Bearer token; bind with EnvVar, empty = no Authorization header.")
    timeout_s: float = Field(default=60.0, gt=0, le=3600, allow_inf_nan=False,
                             description="Per-request timeout (connect and read).")
    max_retries: int = Field(default=2, ge=0, le=100, description="Retries after a failed or timed-out request.")
    max_tokens: int = Field(default=96, ge=1, le=100_000, description="Longest synthetic text, in tokens.")
    temperature: float = Field(default=0.2, ge=0, le=2, allow_inf_nan=False, description="Sampling temperature.")
    concurrency: int = Field(default=8, ge=1, le=256, description="Requests in flight at once.")

    def complete(self, top_text: str, caption: str) -> str:
        """One synthetic text; raises after ``max_retries`` failed attempts."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        payload = {
            "model": self.model, "messages": build_messages(top_text, caption),
            "max_tokens": self.max_tokens, "temperature": self.temperature,
        }
        import requests  # only when the optional LLM endpoint is on

        url = self.base_url.rstrip("/") + "/chat/completions"
        error: Exception | None = None
        for _ in range(self.max_retries + 1):
            try:
                response = requests.post(url, json=payload, headers=headers, timeout=self.timeout_s)
                response.raise_for_status()
                return parse_answer(response.json())
            except (requests.RequestException, ValueError) as exc:
                error = exc
        raise RuntimeError(f"synthetic text request to {url} failed: {error}") from error

    def complete_many(self, items: Sequence[tuple[str, str]]) -> list[str]:
        """Synthetic texts for ``(top_text, caption)`` pairs, in order; empty strings when disabled."""
        if not self.enabled:
            return ["" for _ in items]
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            return list(pool.map(lambda item: self.complete(*item), items))


def llm_from_env() -> LLMResource:
    """Settings from ``PIN_LLM_*`` variables; the key is bound as an EnvVar only when it is set."""
    return LLMResource(
        enabled=os.environ.get("PIN_LLM_ENABLED", "").lower() in ("1", "true", "yes"),
        base_url=os.environ.get("PIN_LLM_BASE_URL", "http://127.0.0.1:8000/v1"),
        model=os.environ.get("PIN_LLM_MODEL", ""),
        api_key=EnvVar(API_KEY_ENV) if os.environ.get(API_KEY_ENV) else "",
    )
