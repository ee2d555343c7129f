"""Dagster resources: where data lives, how documents are processed, and how runs execute.

The environment (local folder or S3, the executor) is chosen here, in one place, from configuration;
assets and sensors only ever see the resources this module builds, and the Definitions take the executor
from :func:`executor_from_env` (``resources/executor.py``: ``PIN_EXECUTOR``, ``PIN_STEP_START_METHOD``,
``PIN_STEP_PRELOAD``, ``PIN_MAX_CONCURRENT_STEPS``; ``PIN_EXECUTOR=celery`` for steps on other hosts) and the
jobs their op retry policy from :func:`step_retry_policy` (``PIN_STEP_RETRIES``).

Environment variables read by :func:`build_resources`:

``PIN_STORAGE_URI``
    A folder (default ``./pin_data``), ``file:///...`` or ``s3://bucket/prefix``.
``PIN_S3_ENDPOINT_URL`` (or the standard ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``)
    S3-compatible endpoint such as ``http://minio:9000``; unset means AWS.
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``
    Bound as ``EnvVar``s, so the values are resolved in the run process and never shown in the UI or
    stored with the run; unset ones fall back to boto3's chain (profile, instance or pod role).
``PIN_S3_MAX_ATTEMPTS`` (default 5), ``PIN_S3_RETRY_MODE`` (``standard`` | ``adaptive``)
    botocore retry budget and mode.
``PIN_FETCH_ALLOWED_NETWORKS``
    Networks (CIDR, comma separated) that URL sources may reach besides the public internet; default none.
``PIN_EMBEDDINGS_BACKEND`` (``minilm`` | ``clip``), ``PIN_EMBEDDINGS_MODEL_PATH``, ``PIN_EMBEDDINGS_DEVICE``
    RealSyn's encoders: the packaged MiniLM text model by default, or CLIP weights from a local path.
``PIN_LLM_ENABLED``, ``PIN_LLM_BASE_URL``, ``PIN_LLM_MODEL``, ``PIN_LLM_API_KEY``
    The optional OpenAI-compatible endpoint that writes RealSyn's ``syn_text`` (off by default).
"""

import os

from dagster import EnvVar

from pin_assets.settings import env_value
from resources.embeddings import EmbeddingResource, embeddings_from_env
from resources.executor import executor_from_env, step_retry_policy
from resources.llm import LLMResource, llm_from_env
from resources.processing import ProcessingResource
from resources.s3 import S3Connection, StorageUnavailableError
from resources.storage import StorageResource
from resources.tokenizer import TokenizerResource

DEFAULT_STORAGE_URI = "pin_data"
_ENDPOINT_VARS = ("PIN_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


def _env_ref(name: str) -> EnvVar | None:
    """An ``EnvVar`` for a variable that is set, else None so boto3's default chain decides."""
    return EnvVar(name) if os.environ.get(name) else None


def s3_connection_from_env() -> S3Connection:
    """The S3 connection described by the environment; no secret value ever passes through code."""
    endpoint = next((name for name in _ENDPOINT_VARS if os.environ.get(name)), None)
    region = next((name for name in ("AWS_REGION", "AWS_DEFAULT_REGION") if os.environ.get(name)), None)
    return S3Connection(
        endpoint_url=EnvVar(endpoint) if endpoint else None,
        region_name=EnvVar(region) if region else None,
        aws_access_key_id=_env_ref("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=_env_ref("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=_env_ref("AWS_SESSION_TOKEN"),
        max_attempts=env_value(S3Connection, "max_attempts", "PIN_S3_MAX_ATTEMPTS", os.environ) or 5,
        retry_mode=env_value(S3Connection, "retry_mode", "PIN_S3_RETRY_MODE", os.environ) or "standard",
    )


def build_resources() -> dict[str, object]:
    """Resources for the Definitions, configured from the environment (see the module docstring)."""
    base_uri = os.environ.get("PIN_STORAGE_URI", DEFAULT_STORAGE_URI)
    s3 = s3_connection_from_env() if base_uri.startswith("s3://") else None
    storage = StorageResource(base_uri=base_uri, s3=s3)
    allowed = env_value(ProcessingResource, "fetch_allowed_networks", "PIN_FETCH_ALLOWED_NETWORKS", os.environ)
    return {
        "storage": storage,
        "processing": ProcessingResource(fetch_allowed_networks=allowed or ""),
        "tokenizer": TokenizerResource(),
        "embeddings": embeddings_from_env(),
        "llm": llm_from_env(),
    }


__all__ = [
    "DEFAULT_STORAGE_URI",
    "EmbeddingResource",
    "LLMResource",
    "ProcessingResource",
    "S3Connection",
    "StorageResource",
    "StorageUnavailableError",
    "TokenizerResource",
    "build_resources",
    "executor_from_env",
    "s3_connection_from_env",
    "step_retry_policy",
]
