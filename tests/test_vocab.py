"""The closed vocabularies: the strings the workspace files, the CLI and the API already use,
defined once (safetygap/vocab.py) and nowhere else."""

import ast
from pathlib import Path

import safetygap
from safetygap import FAMILIES
from safetygap._status import STATUS_ORDER
from safetygap.vocab import (
    BoundaryPolicy,
    Channel,
    Engine,
    Family,
    Level,
    RowStatus,
    TravelKind,
    TravelMode,
    allowed,
)

PACKAGE = Path(safetygap.__file__).parent
VOCABULARIES = (BoundaryPolicy, Channel, Engine, Family, Level, RowStatus, TravelKind,
                TravelMode)


def test_vocabularies_are_the_strings_of_existing_workspaces():
    # spelled out by hand: the values written in calls.parquet, quality.json, the manifest's
    # options and accepted by --boundary-policy, --travel, --mode, --engine and the API
    assert allowed(Family) == FAMILIES == ("response", "prevention", "restoration")
    assert allowed(RowStatus) == STATUS_ORDER == (
        "duplicate_id", "missing_coordinates", "invalid_coordinates", "zero_coordinates",
        "outside_boundaries", "date_outside_window", "unparseable_date", "unknown_call_type",
        "ok")
    assert allowed(BoundaryPolicy) == ("contain", "split")
    assert allowed(TravelKind) == ("straight", "network")
    assert allowed(TravelMode) == ("walk", "drive")
    assert allowed(Engine) == ("memory", "dask", "stream")
    assert allowed(Level) == ("neighborhood", "ward")


def test_members_are_their_strings():
    assert Family("prevention") is Family.PREVENTION
    assert f"{Family.RESPONSE}" == "response"
    assert {Channel.POLICE: 1}["police"] == 1


def test_diverted_channels():
    assert {c.value for c in Channel if c.diverted} == {
        "behavioral_crisis",
        "traffic_control",
        "animal_control",
        "report_311_online",
        "other_non_police",
    }


def _string_tuples(path: Path) -> list[tuple[int, frozenset[str]]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set) and len(node.elts) >= 2 and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            out.append((node.lineno, frozenset(e.value for e in node.elts)))
    return out


def test_no_module_spells_a_vocabulary_again():
    """A tuple, list or set of a vocabulary's values written out outside vocab.py is a
    parallel copy: use the enum or its tuple (``vocab.FAMILIES``, ``allowed(...)``)."""
    values = {frozenset(allowed(v)): v.__name__ for v in VOCABULARIES}
    copies = [f"{p.relative_to(PACKAGE)}:{line} {values[found]}"
              for p in sorted(PACKAGE.rglob("*.py")) if p.name != "vocab.py"
              for line, found in _string_tuples(p) if found in values]
    assert copies == []
