"""The tokenizer behind ``total_token_count``: a local tokenizer.json, or the best offline default."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from pin_assets.core.tokenizer import HFTokenizer, Tokenizer, default_tokenizer


class TokenizerResource(ConfigurableResource):
    """PIN counted with Llama-3.2-1B's tokenizer: point ``tokenizer_path`` at its tokenizer.json to match."""

    tokenizer_path: str = Field(
        default="", description="Local tokenizer.json (or its folder); empty = packaged offline default."
    )

    _tokenizer: Tokenizer | None = PrivateAttr(default=None)

    def get(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = HFTokenizer(self.tokenizer_path) if self.tokenizer_path else default_tokenizer()
        return self._tokenizer
