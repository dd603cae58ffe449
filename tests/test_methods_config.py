"""The calls' feed column from the command line (``--feed``) and the city configuration
(``[calls] feed``), and the method settings of a city configuration (``[methods]``, the
command line's method options on top)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from safetygap.cli import app
from safetygap.config.city import analysis_setup, load_city_config
from safetygap.errors import ValidationError
from safetygap.methods import Methods

FEEDS = ["911", "911", "311", "911", "911", "911", "311", "911", "911", "911", "911"]
"""The tiny city's calls 3 (2023-05-01, B) and 7 (2023-07-04, D) come from a 311 export."""

GENERIC_CALLS = """id = "id"
call_type = "call_type"
agency = "agency"
time = "time"
latitude = "latitude"
longitude = "longitude"
"""


def _with_feeds(tiny_files: dict[str, Path]) -> None:
    calls = pd.read_csv(tiny_files["calls"], dtype=str)
    calls["export"] = FEEDS
    calls.to_csv(tiny_files["calls"], index=False)


def _args(tiny_files: dict[str, Path]) -> list[str]:
    return ["--calls", str(tiny_files["calls"]), "--providers", str(tiny_files["providers"]),
            "--neighborhoods", str(tiny_files["neighborhoods"]),
            "--wards", str(tiny_files["wards"]), "--population", str(tiny_files["population"])]


def _run(args: list[str]) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["analyze", *args, "--quiet", "--no-precompute"])
    return res.exit_code, res.output


def _feeds(ws: Path) -> dict[str, dict]:
    summary = json.loads((ws / "summary.json").read_text())
    return {s["source"]: s for s in summary["time_covered"]}


def test_feed_flag_measures_each_export_on_its_own(tiny_files, tmp_path):
    """``--feed export``: the 311 feed covers 2023-05-01 .. 2023-07-04 (calls 3 and 7; 65
    days with a 400-day gap threshold), the 911 feed its own calls' span; without the flag
    the file is one feed."""
    _with_feeds(tiny_files)
    common = [*_args(tiny_files), "--preset", "generic", "--accept-undated",
              "--method", "gap_days=400"]
    code, out = _run([*common, "--feed", "export", "--out", str(tmp_path / "ws")])
    assert code == 0, out
    feeds = _feeds(tmp_path / "ws")
    assert sorted(feeds) == ["311", "911"]
    assert (feeds["311"]["first"], feeds["311"]["last"]) == ("2023-05-01", "2023-07-04")
    assert feeds["311"]["covered_days"] == 65  # 31 (May) + 30 (June) + 4 (July)
    calls = pd.read_parquet(tmp_path / "ws" / "calls.parquet", columns=["feed"])
    assert calls["feed"].astype(str).tolist() == FEEDS
    code, out = _run([*common, "--out", str(tmp_path / "one")])
    assert code == 0, out
    assert len(_feeds(tmp_path / "one")) == 1


def test_feed_key_of_a_city_configuration(tiny_files, tmp_path):
    """``[calls] feed`` does what ``--feed`` does; ``--feed`` given overrides it."""
    _with_feeds(tiny_files)
    calls = pd.read_csv(tiny_files["calls"], dtype=str).assign(other="x")
    calls.to_csv(tiny_files["calls"], index=False)
    cfg = tmp_path / "city.toml"
    cfg.write_text(f'[calls]\n{GENERIC_CALLS}feed = "export"\n'
                   '[analysis]\naccept_undated = true\n[methods]\ngap_days = 400\n')
    config = load_city_config(cfg)
    assert config.columns is not None and config.columns.feed == "export"
    _, opts = analysis_setup(config, files=dict(tiny_files), columns={"feed": "other"},
                             options={})
    assert opts.columns.feed == "other"  # the command line wins
    code, out = _run([*_args(tiny_files), "--config", str(cfg), "--out", str(tmp_path / "ws")])
    assert code == 0, out
    assert sorted(_feeds(tmp_path / "ws")) == ["311", "911"]


def test_profile_counts_the_feeds(tiny_files):
    _with_feeds(tiny_files)
    res = CliRunner().invoke(app, ["profile", str(tiny_files["calls"]), "--preset", "generic",
                                   "--feed", "export", "--json"])
    assert res.exit_code == 0, res.output
    feeds = json.loads(res.output)["feeds"]
    assert {f["value"]: f["calls"] for f in feeds["top"]} == {"911": 9, "311": 2}


METHODS_TOML = """[calls]
{calls}
[analysis]
accept_undated = true
[methods]
demand = "centroid"
kernel = "truncated_gaussian"
gap_days = 400
nonresident_ratio = 10
bootstrap = 0
hotspot_permutations = 0
min_population = 1500
"""


def test_methods_of_a_city_configuration_reach_the_outputs(tiny_files, tmp_path):
    """The file's ``[methods]`` decide the run: one demand point per neighborhood (the
    centroid model), no bootstrap, A (1,000 residents) below the file's minimum of 1,500
    so not ranked; the command line's method options override single settings and leave
    the file's others."""
    cfg = tmp_path / "city.toml"
    cfg.write_text(METHODS_TOML.format(calls=GENERIC_CALLS))
    config = load_city_config(cfg)
    assert config.methods == Methods(demand="centroid", kernel="truncated_gaussian",
                                     gap_days=400, nonresident_ratio=10.0, bootstrap=0,
                                     hotspot_permutations=0, min_population=1500.0)
    code, out = _run([*_args(tiny_files), "--config", str(cfg), "--out", str(tmp_path / "ws")])
    assert code == 0, out
    ws = tmp_path / "ws"
    manifest = json.loads((ws / "manifest.json").read_text())
    assert manifest["options"]["methods"] == config.methods.to_dict()
    points = pd.read_parquet(ws / "demand_points.parquet")
    assert len(points) == 4  # one per neighborhood
    nb = pd.read_parquet(ws / "neighborhoods.parquet")
    small = dict(zip(nb["area_id"], nb["small_population"], strict=True))
    assert small == {"A": True, "B": False, "C": False, "D": False}
    # the command line over the file: the kernel and the bootstrap from the flags, the
    # demand model and the minimum population still the file's
    code, out = _run([*_args(tiny_files), "--config", str(cfg), "--kernel", "dai",
                      "--method", "bootstrap=20", "--out", str(tmp_path / "ws2")])
    assert code == 0, out
    got = json.loads((tmp_path / "ws2" / "manifest.json").read_text())["options"]["methods"]
    assert (got["kernel"], got["bootstrap"], got["demand"], got["min_population"]) == (
        "dai", 20, "centroid", 1500.0)


@pytest.mark.parametrize(("text", "wanted"), [
    ('kernel = "gauss"', ["[methods] kernel: unknown distance-decay kernel", "'gauss'",
                          "'dai'", "'truncated_gaussian'"]),
    ('demand = "blocks"', ["[methods] demand: unknown demand model", "'blocks'", "'grid'",
                           "'centroid'"]),
    ("bootstrap = -5", ["[methods] bootstrap: must be a whole number >= 0", "-5"]),
    ("confidence = 1.5", ["[methods] confidence: must be a number > 0", "1.5"]),
    ('bootstrap = "many"', ["[methods] bootstrap must be whole number", "many"]),
    ("kernal = \"dai\"", ["[methods] unknown key", "kernal", "'kernel'"]),
])
def test_a_bad_method_value_is_one_clear_error(tmp_path, text, wanted):
    cfg = tmp_path / "city.toml"
    cfg.write_text(f"[methods]\n{text}\n")
    with pytest.raises(ValidationError) as err:
        load_city_config(cfg)
    message = str(err.value)
    assert str(cfg) in message
    for part in wanted:
        assert part in message, message
    assert len(err.value.problems) == 1


def test_every_bad_method_value_at_once_on_the_command_line(tiny_files, tmp_path):
    cfg = tmp_path / "city.toml"
    cfg.write_text(f'[calls]\n{GENERIC_CALLS}[methods]\nkernel = "gauss"\nfdr_alpha = 2\n')
    code, out = _run([*_args(tiny_files), "--config", str(cfg), "--out", str(tmp_path / "ws")])
    assert code != 0
    assert "[methods] kernel" in out and "[methods] fdr_alpha" in out and "gauss" in out
    assert "Traceback" not in out
    assert not (tmp_path / "ws").exists()
