"""The import contracts of docs/ARCHITECTURE.md (``[tool.importlinter]`` in pyproject.toml)
hold: layers from the adapters down to geo, a core without the web stack, geo without files
or downloads, no import cycles inside any package, private modules kept private."""

from __future__ import annotations

import tomllib
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_the_contracts_are_the_documented_ones():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = {c["type"]: c for c in config["tool"]["importlinter"]["contracts"]
                 if c["type"] != "forbidden"}
    forbidden = [c for c in config["tool"]["importlinter"]["contracts"]
                 if c["type"] == "forbidden"]
    layers = contracts["layers"]["layers"]
    assert layers[0] == "safetygap.cli" and layers[1] == "safetygap.api"
    assert "safetygap.geo" in layers
    web = next(c for c in forbidden if "fastapi" in c["forbidden_modules"])
    assert {"fastapi", "starlette", "folium", "uvicorn", "httpx"} <= set(web["forbidden_modules"])
    assert {"safetygap.geo", "safetygap.stages", "safetygap.inputs", "safetygap.boundaries",
            "safetygap.taxonomy", "safetygap.pipeline"} <= set(web["source_modules"])
    assert contracts["acyclic_siblings"]["ancestors"] == ["safetygap"]
    assert contracts["private_modules"]["packages_with_private_modules"] == ["safetygap"]


def test_import_contracts_hold(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True,
                        no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "5 kept, 0 broken" in out, out


LONG_LINES = 450
"""A module longer than this says why at its top ("Long file ...: reason")."""


def test_long_modules_say_why():
    unexplained = []
    for path in sorted((ROOT / "safetygap").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > LONG_LINES and not any(
                line.startswith("Long file") for line in lines[:40]):
            unexplained.append(f"{path.relative_to(ROOT)} ({len(lines)} lines)")
    assert unexplained == []
