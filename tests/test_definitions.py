"""The project's definitions load the way `dagster dev` and the code server load them."""

from __future__ import annotations

import subprocess
import sys

from pin_assets.definitions import defs


def test_dagster_definitions_validate() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "pin_assets.definitions"],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_asset_graph_groups_and_lineage() -> None:
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups["raw_documents"] == "ingest"
    assert groups["parsed_markdown"] == "parse"
    assert groups["page_renders"] == "render"
    assert groups["quality_signals"] == "signals"
    assert groups["pin_records"] == "export"
    records = next(k for k in graph.get_all_asset_keys() if k.to_user_string() == "pin_records")
    assert {p.to_user_string() for p in graph.get(records).parent_keys} >= {"parsed_markdown", "page_renders"}
