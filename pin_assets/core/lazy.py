"""Heavy libraries bound at module level but loaded on first use.

Every process that imports ``pin_assets.definitions`` (the code server, each webserver reload, each run
worker and step) would otherwise pay for FAISS, DuckDB and the like although most never call them.
A function that needs a library once imports it in its body; a module that uses one throughout writes
``faiss = lazy_import("faiss")`` instead of ``import faiss``, and the library loads at the first attribute
access (the standard library's ``importlib.util.LazyLoader``). ``tests/test_import_cost.py`` checks that
``import pin_assets.definitions`` leaves :data:`HEAVY_LIBRARIES` unloaded; ``bench/imports.py`` times it.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

HEAVY_LIBRARIES = (
    "torch", "sentence_transformers", "transformers", "openvino", "onnxruntime", "trafilatura", "faiss",
    "duckdb", "pymupdf", "pymupdf4llm", "pandas", "pyarrow.dataset", "dagster_aws", "jsonschema", "warcio",
    "requests",
)
"""What ``import pin_assets.definitions`` must not load: each costs 0.1 to 2 s of CPU in every process."""


def lazy_import(name: str) -> ModuleType:
    """``name`` as a module object whose code runs when one of its attributes is first read."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


def loaded(name: str) -> bool:
    """Whether module ``name`` has run (a :func:`lazy_import` placeholder not yet touched has not)."""
    module = sys.modules.get(name)
    return module is not None and type(module).__name__ != "_LazyModule"
