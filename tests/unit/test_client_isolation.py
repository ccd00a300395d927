"""`lineage_graph.client` must import on a machine that has only httpx: none of the server's packages."""

from __future__ import annotations

import json
import subprocess
import sys

# Run in a fresh interpreter where the server's dependencies and layers cannot be imported at all.
_PROBE = """
import importlib.abc, json, sys

SERVER = {"strawberry", "neo4j", "starlette", "uvicorn", "boto3", "botocore", "pydantic_settings", "graphql",
          "openlineage", "prometheus_client", "jsonschema", "rich"}

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        inner = name.startswith("lineage_graph.") and not name.startswith("lineage_graph.client")
        if top in SERVER or inner:
            raise ImportError(f"the client imported {name}")
        return None

sys.meta_path.insert(0, Refuse())
import lineage_graph.client
from lineage_graph.client import AsyncClient, Client
print(json.dumps(sorted(m for m in sys.modules if m.startswith("lineage_graph"))))
"""


def test_the_client_imports_without_any_server_module() -> None:
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert "lineage_graph.client" in loaded
    assert all(m == "lineage_graph" or m.startswith("lineage_graph.client") for m in loaded), loaded
