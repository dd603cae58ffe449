"""The command line: messages name flags that exist on the command the user ran, help text
shows what the options are, progress counts its steps right, option values are checked."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import typer.main
from conftest import X0, Y0
from typer.testing import CliRunner

from safetygap.cli import app
from safetygap.cli._app import cli_message
from safetygap.errors import ValidationError
from safetygap.inputs import ColumnMap, read_calls, read_population, read_providers
from safetygap.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parents[1]
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def _commands() -> dict[str, object]:
    """Every (sub)command by its full name, e.g. ``"fetch minneapolis"``."""
    out: dict[str, object] = {}

    def walk(cmd: object, name: str) -> None:
        if name:
            out[name] = cmd
        for sub, c in getattr(cmd, "commands", {}).items():
            walk(c, f"{name} {sub}".strip())

    walk(typer.main.get_command(app), "")
    return out


def flags_of(command: str) -> set[str]:
    cmd = _commands()[command]
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)  # type: ignore[attr-defined]
            if o.startswith("--")}


def assert_flags_exist(text: str, command: str) -> None:
    named = set(FLAG.findall(text))
    assert named, f"no flag named in {text!r}"
    assert named <= flags_of(command), f"{named - flags_of(command)} not options of {command}"


# ---------------------------------------------------------- hints name real flags


def test_calls_crs_hints_name_the_calls_crs_option(tmp_path):
    p = tmp_path / "calls.csv"
    p.write_text("id,call_type,x,y\n1,Theft (P),500000,4980000\n")
    with pytest.raises(ValidationError) as err:
        read_calls(p, columns=ColumnMap(id="id", call_type="call_type", x="x", y="y"))
    assert "`calls_crs`" in str(err.value) and "--" not in str(err.value)  # the option
    assert "--calls-crs" in cli_message(str(err.value))  # the command line's flag
    assert_flags_exist(cli_message(str(err.value)), "analyze")
    with pytest.raises(ValidationError) as err:
        read_calls(p, columns=ColumnMap(id="id", call_type="call_type"))  # no coordinates
    assert "--calls-crs" in cli_message(str(err.value))
    assert_flags_exist(cli_message(str(err.value)), "analyze")


@pytest.mark.parametrize("command", ["analyze", "whatif"])
def test_providers_crs_hint_names_an_option_of_the_command(tmp_path, command):
    p = tmp_path / "providers.csv"
    p.write_text("name,service_type,capacity,x,y\nA,bcr_team,1,500000,4980000\n")
    with pytest.raises(ValidationError) as err:
        read_providers(p, taxonomy=load_taxonomy())
    assert "`providers_crs` EPSG:n" in str(err.value)
    assert "--providers-crs EPSG:n" in cli_message(str(err.value))
    assert_flags_exist(cli_message(str(err.value)), command)


def test_population_hints_name_options_of_analyze(tmp_path):
    p = tmp_path / "pop.csv"
    p.write_text("label,people\nAlpha,10\n")
    with pytest.raises(ValidationError) as err:
        read_population(p)
    text = cli_message(str(err.value))
    assert "--population-name-column" in text and "--population-column" in text
    assert_flags_exist(text, "analyze")
    pin = read_population(p, name_column="label", population_column="people")
    assert pin.frame.to_dict("records") == [{"name": "Alpha", "population": 10.0}]


def test_population_options_reach_the_analysis(tiny_files, tmp_path):
    pd.read_csv(tiny_files["population"]).rename(
        columns={"neighborhood": "label", "population": "people"}).to_csv(
        tiny_files["population"], index=False)
    args = ["analyze", *[a for k in ("calls", "providers", "neighborhoods", "wards",
                                     "population") for a in (f"--{k}", str(tiny_files[k]))],
            "--preset", "generic", "--accept-undated", "--out", str(tmp_path / "ws"), "--quiet"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and "no area-name column" in res.output
    res = CliRunner().invoke(app, [*args, "--population-name-column", "label",
                                   "--population-column", "people"])
    assert res.exit_code == 0, res.output
    pop = pd.read_parquet(tmp_path / "ws" / "neighborhoods.parquet", columns=["population"])
    assert pop["population"].tolist() == [1000, 2000, 3000, 4000]


def test_providers_crs_option_of_analyze(tiny_files, tmp_path):
    # the providers as x/y in EPSG:26915 in a CSV: needs --providers-crs
    import geopandas as gpd

    prov = gpd.read_file(tiny_files["providers"])
    csv = tmp_path / "providers.csv"
    pd.DataFrame({"name": prov["name"], "service_type": prov["service_type"],
                  "capacity": prov["capacity"], "x": prov.geometry.x,
                  "y": prov.geometry.y}).to_csv(csv, index=False)
    args = ["analyze", "--calls", str(tiny_files["calls"]), "--providers", str(csv),
            "--neighborhoods", str(tiny_files["neighborhoods"]),
            "--wards", str(tiny_files["wards"]), "--preset", "generic", "--accept-undated",
            "--out", str(tmp_path / "ws"), "--quiet"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and "--providers-crs EPSG:n" in res.output
    res = CliRunner().invoke(app, [*args, "--providers-crs", "EPSG:26915"])
    assert res.exit_code == 0, res.output
    placed = pd.read_parquet(tmp_path / "ws" / "providers.parquet",
                             columns=["name", "neighborhood_id"])
    ids = placed["neighborhood_id"].tolist()
    assert ids[:2] == ["A", "B"] and pd.isna(ids[2])  # P3 is 50 km away


def test_site_candidates_hint_names_candidates_crs(tiny_ws, tmp_path):
    ws, _ = tiny_ws
    cands = tmp_path / "cands.csv"
    cands.write_text(f"name,x,y\nc1,{X0 + 500},{Y0 + 500}\n")
    args = ["site", "--workspace", str(ws), "--family", "prevention", "--k", "1",
            "--candidates", str(cands)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2
    assert "--candidates-crs EPSG:n" in res.output and "--providers-crs" not in res.output
    assert_flags_exist(res.output, "site")
    res = CliRunner().invoke(app, [*args, "--candidates-crs", "EPSG:26915"])
    assert res.exit_code == 0, res.output


def _string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)]


def _bench_flags() -> set[str]:
    """The options of the benchmark scripts (the docs show how to run them)."""
    return {f for path in (ROOT / "bench").glob("*.py")
            for f in re.findall(r'add_argument\(\s*"(--[a-z][a-z0-9-]*)"', path.read_text())}


def test_every_flag_named_in_messages_and_docs_exists():
    """A flag named anywhere in the package's strings or the docs is an option of some
    command (the tests above check the command too, for the hints that matter most), or,
    in the docs, of a benchmark script."""
    root = typer.main.get_command(app)
    known = set().union(*(flags_of(c) for c in _commands()),
                        {o for p in root.params for o in p.opts if o.startswith("--")},
                        {"--help"})
    assert "--format" in _bench_flags()
    unknown = []
    for path in sorted((ROOT / "safetygap").rglob("*.py")):
        for text in _string_constants(path):
            unknown += [(path.name, f) for f in FLAG.findall(text) if f not in known]
    known_in_docs = known | _bench_flags()
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        unknown += [(path.name, f) for f in FLAG.findall(path.read_text(encoding="utf-8"))
                    if f not in known_in_docs]
    assert unknown == []


# ------------------------------------------------------------------ help text


def _help(*args: str) -> str:
    res = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    return res.output


def test_help_shows_no_value_for_flags():
    """Flags take no value: no ``<bool>`` after --quiet, --no-serve, --help, --version."""
    for name in ["", *_commands()]:
        text = _help(*name.split())
        assert "<bool>" not in text, name
        assert "--help" in text and "-h" in text
    assert "--quiet" in _help("analyze") and "--no-serve" in _help("demo")


@pytest.mark.parametrize("args", [["-h"], ["site", "-h"], ["fetch", "minneapolis", "-h"]])
def test_dash_h_is_help(args):
    res = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert res.exit_code == 0 and res.output == _help(*args[:-1])


def test_version():
    from safetygap import __version__

    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output == f"safetygap {__version__}\n"


def test_calls_help_lists_every_format_read_calls_takes():
    from safetygap.inputs.files import CALL_FILE_SUFFIXES

    text = " ".join(_help("analyze").replace("│", " ").split())
    for suffix in CALL_FILE_SUFFIXES:
        assert f"{suffix}," in text or f"{suffix})" in text, suffix
    for name in ("CSV", "Parquet", "GeoParquet", "GeoJSON", "GeoPackage", "JSON records"):
        assert name in text


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_serving_commands_list_the_settings_environment(command):
    from safetygap.settings import Settings

    text = " ".join(_help(command).replace("│", " ").split())
    for name in Settings.model_fields:
        assert f"SAFETYGAP_{name.upper()}:" in text, name
    assert "SAFETYGAP_TILES: base-map tile URL template, or 'none'" in text
    # --host and --port say their defaults and range
    assert "else 127.0.0.1)" in text and "else 8000)" in text and "1<=x<=65535" in text


def test_demo_writes_where_make_demo_and_the_readme_say():
    import safetygap.cli as cli

    make = (ROOT / "Makefile").read_text()
    assert re.search(r"^DEMO_DIR \?= (\S+)$", make, flags=re.M)[1] == str(cli.DEMO_OUT)
    assert "[default: demo]" in " ".join(_help("demo").split())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for ws in re.findall(r"--workspace (demo\S*)", readme):
        assert ws == f"{cli.DEMO_OUT}/workspace", ws


def test_help_shows_square_brackets_in_option_help():
    text = _help("analyze")
    assert "pip install 'safetygap[dask]'" in text


def test_every_command_has_a_one_line_summary():
    for name, cmd in _commands().items():
        first = (cmd.help or "").strip().split("\n\n")[0]  # type: ignore[attr-defined]
        assert first and "\n" not in first, f"{name}: {first!r}"
    # the command list of the top-level help: one line per command
    lines = _help().splitlines()
    start = next(i for i, line in enumerate(lines) if "Commands" in line)
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("╰"))
    rows = [line.split()[1] for line in lines[start + 1:end]]
    assert rows == [n for n in _commands() if " " not in n]  # no continuation lines


def test_providers_is_marked_required_and_boundaries_documented():
    text = _help("analyze")
    (row,) = [line for line in text.splitlines() if "--providers " in line]
    assert row.startswith("│ *")
    assert "--neighborhoods,--boundaries" in text
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    import safetygap.cli as cli

    assert "--boundaries" in readme and "--boundaries" in (cli.__doc__ or "")
    # still checked by the command itself, with every other missing input
    res = CliRunner().invoke(app, ["analyze", "--out", "ws"])
    assert res.exit_code == 2 and "4 problems" in res.output


def test_serve_on_a_demo_folder_suggests_its_workspace(tiny_ws, tmp_path):
    ws, _ = tiny_ws
    outer = tmp_path / "demo-out"
    shutil.copytree(ws, outer / "workspace")
    res = CliRunner().invoke(app, ["serve", "--workspace", str(outer)])
    assert res.exit_code == 2
    assert f"--workspace {outer / 'workspace'}" in res.output.replace("\n", "")


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--port", "0"], {}, "Invalid value for '--port'"),
    (["--port", "70000"], {}, "Invalid value for '--port'"),
    ([], {"SAFETYGAP_PORT": "0"}, "SAFETYGAP_PORT: Input should be greater than or equal to 1 "
                                  "(got '0')"),
    ([], {"SAFETYGAP_PORT": "eighty"}, "SAFETYGAP_PORT: Input should be a valid integer"),
    # TEST-NET-1 (RFC 5737): never an address of this machine, and no DNS asked
    (["--host", "192.0.2.1"], {}, "host '192.0.2.1' is not an address of this machine"),
])
def test_serve_bad_address_is_one_clean_line(tiny_ws, args, env, message):
    ws, _ = tiny_ws
    res = CliRunner().invoke(app, ["serve", "--workspace", str(ws), *args],
                             env={"COLUMNS": "200", **env})
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output and "pydantic" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_serve_port_in_use_is_named(tiny_ws):
    import socket

    ws, _ = tiny_ws
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = CliRunner().invoke(app, ["serve", "--workspace", str(ws), "--port", str(port)])
    assert res.exit_code == 2
    assert f"port {port} on 127.0.0.1 is in use; pick another with --port" in res.output


def test_demo_checks_the_address_before_building_the_city(tmp_path):
    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "d"), "--calls", "100",
                                   "--host", "192.0.2.1"])
    assert res.exit_code == 2 and "host '192.0.2.1'" in res.output
    assert not (tmp_path / "d").exists()
    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "d"), "--port", "0"])
    assert res.exit_code == 2 and "'--port'" in res.output


def test_plain_text_errors_have_no_input_prefix():
    assert str(ValidationError("scheduler: cannot connect")) == (
        "1 problem:\n  - scheduler: cannot connect")


# ------------------------------------------------------------------- progress


def test_progress_ends_at_its_total(tiny_files, tmp_path):
    res = CliRunner().invoke(app, [
        "analyze", *[a for k in ("calls", "providers", "neighborhoods", "wards")
                     for a in (f"--{k}", str(tiny_files[k]))],
        "--preset", "generic", "--accept-undated", "--out", str(tmp_path / "ws")])
    assert res.exit_code == 0, res.output
    steps = re.findall(r"^\[(\d+)/(\d+)\] (.*) \.\.\.$", res.stderr, flags=re.M)
    from safetygap.pipeline import STEPS

    assert [int(i) for i, _, _ in steps] == list(range(1, len(STEPS) + 2))
    assert {int(n) for _, n, _ in steps} == {len(STEPS) + 1}
    assert steps[-1][2] == "writing workspace"
    # the join counts 9 calls in a neighborhood (rows 1-7, 10 and 11; row 8 is at 0,0 and
    # row 9 outside the city), the same 9 in a ward; row 10 repeats row 1's id, so 8 are
    # placed, the figure the summary step and the closing report give
    assert ("(9 in a neighborhood, 9 in a ward; less 1 with a repeated call id "
            "(duplicate_id): 8 placed in neighborhoods, 8 in wards)") in res.stderr
    assert "(8 calls in areas)" in res.stderr
    assert "8 placed in areas" in res.stdout


@pytest.mark.parametrize(("n_idx", "w_idx", "dup", "want"), [
    ([0, 1, -1], [0, 0, -1], [False, False, False], "2 in a neighborhood, 2 in a ward"),
    ([0, 1, 1, 0], [0, -1, 0, 0], [False, False, True, False],
     "4 in a neighborhood, 3 in a ward; less 1 with a repeated call id (duplicate_id): 3 "
     "placed in neighborhoods, 2 in wards; 1 in a neighborhood but outside every ward (kept "
     "in the neighborhood counts)"),
    ([0, -1], [-1, 0], [True, True], "1 in a neighborhood, 1 in a ward; less 2 with a "
                                     "repeated call id (duplicate_id): 0 placed in "
                                     "neighborhoods, 0 in wards"),
    ([0, 2, -1], [-1, -1, 0], [False, False, False],
     "2 in a neighborhood, 1 in a ward; 2 in a neighborhood but outside every ward (kept in "
     "the neighborhood counts)"),
])
def test_join_note_explains_the_calls_not_placed(n_idx, w_idx, dup, want):
    import numpy as np

    from safetygap.stages.rows import join_note

    assert join_note(np.array(n_idx), np.array(w_idx), np.array(dup)) == want


# ---------------------------------------------------------------------- fetch


@pytest.mark.parametrize("option, value, message", [
    ("--retries", "-1", "'--retries'"),
    ("--timeout", "0", "must be more than 0 seconds"),
    ("--timeout", "-2.5", "must be more than 0 seconds"),
    ("--page-size", "0", "'--page-size'"),
])
def test_fetch_options_are_checked(tmp_path, option, value, message):
    res = CliRunner().invoke(app, ["fetch", "minneapolis", "--out", str(tmp_path / "f"),
                                   "--base-url", "http://127.0.0.1:9/none", option, value])
    assert res.exit_code == 2
    assert message in res.output
    assert not (tmp_path / "f").exists()  # refused before anything was attempted


def test_fetch_validation_error_has_no_resume_hint(tmp_path):
    res = CliRunner().invoke(app, ["fetch", "minneapolis", "--out", str(tmp_path / "f"),
                                   "--years", "2031"])
    assert res.exit_code == 2
    assert "1 problem" in res.output and "year out of range" in res.output
    assert "resume" not in res.output


def test_retry_policy_refuses_bad_values():
    from safetygap.fetch import RetryPolicy

    with pytest.raises(ValidationError) as err:
        RetryPolicy(retries=-1, timeout_s=0.0)
    assert [p.where for p in err.value.problems] == ["retries", "timeout_s"]


def test_geometry_flag_takes_locations_from_a_geoparquet(tiny_files, tmp_path):
    """A GeoParquet of calls (point geometry, no lat/lon columns) analyses with --geometry,
    and without it the error says to add --geometry; both runs count the same calls."""
    import geopandas as gpd
    import pandas as pd
    from typer.testing import CliRunner

    from safetygap.cli import app

    calls = pd.read_csv(tiny_files["calls"], dtype=str)
    lat = pd.to_numeric(calls.pop("latitude"), errors="coerce")
    lon = pd.to_numeric(calls.pop("longitude"), errors="coerce")
    gdf = gpd.GeoDataFrame(calls, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    gpq = tmp_path / "calls.parquet"
    gdf.to_parquet(gpq)
    common = ["analyze", "--calls", str(gpq), "--providers", str(tiny_files["providers"]),
              "--boundaries", str(tiny_files["neighborhoods"]),
              "--wards", str(tiny_files["wards"]), "--population",
              str(tiny_files["population"]), "--quiet", "--accept-undated"]
    runner = CliRunner()
    bad = runner.invoke(app, [*common, "--out", str(tmp_path / "ws0")])
    assert bad.exit_code == 2 and "add --geometry" in bad.output
    ok = runner.invoke(app, [*common, "--geometry", "--out", str(tmp_path / "ws")])
    assert ok.exit_code == 0, ok.output
    q = __import__("json").loads((tmp_path / "ws" / "quality.json").read_text())
    # the same statuses as the CSV run of the tiny city (conftest): 6 ok, 8 placed
    assert q["calls"]["status_counts"]["ok"] == 6
    assert q["calls"]["analysed_in_areas"] == 8


# ------------------------------------------------- the core names options, not flags

CORE = ("geo", "stages", "inputs", "boundaries", "scenarios", "tables", "readmodel",
        "pipeline.py", "taxonomy.py", "diversion.py", "workspace.py", "versions.py",
        "run.py")
STORED_NOTES = {("stages/places.py", "--stale-after-months")}
"""Flags left in text the analysis stores in quality.json (changing them would change every
workspace's quality report): the documented exceptions."""


def _core_strings() -> list[tuple[str, str]]:
    pkg = ROOT / "safetygap"
    out = []
    for part in CORE:
        paths = [pkg / part] if part.endswith(".py") else sorted((pkg / part).rglob("*.py"))
        for path in paths:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docs = {id(n.body[0].value) for n in ast.walk(tree)
                    if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef)
                    and n.body and isinstance(n.body[0], ast.Expr)}
            out += [(str(path.relative_to(pkg)), n.value) for n in ast.walk(tree)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str)
                    and id(n) not in docs]
    return out


def _option_calls() -> set[str]:
    """Names the core passes to ``errors.option(...)`` or gives as a ``crs_option``."""
    pkg = ROOT / "safetygap"
    names = set()
    for part in CORE:
        paths = [pkg / part] if part.endswith(".py") else sorted((pkg / part).rglob("*.py"))
        for path in paths:
            for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "option":
                    names |= {a.value for a in n.args if isinstance(a, ast.Constant)}
                if isinstance(n, ast.arguments):
                    args = [*n.args, *n.kwonlyargs]
                    defaults = [*([None] * (len(n.args) - len(n.defaults))), *n.defaults,
                                *n.kw_defaults]
                    names |= {d.value for a, d in zip(args, defaults, strict=True)
                              if a.arg == "crs_option" and isinstance(d, ast.Constant)}
    return names


def test_the_core_names_options_and_the_cli_shows_them_as_its_flags():
    from safetygap.errors import OPTION

    strings = _core_strings()
    flags = {(path, f) for path, text in strings for f in FLAG.findall(text)}
    assert flags <= STORED_NOTES, flags - STORED_NOTES
    named = {name for _, text in strings for name in OPTION.findall(text)} | _option_calls()
    assert {"calls_crs", "providers_crs", "candidates_crs", "neighborhood_id", "travel",
            "network", "latitude", "encoding"} <= named
    root = typer.main.get_command(app)
    known = set().union(*(flags_of(c) for c in _commands()),
                        {o for p in root.params for o in p.opts})
    shown = {cli_message(f"option `{name}`") for name in named}
    assert shown <= known, shown - known


def test_a_warning_reads_as_one_line_naming_the_flag(tiny_files, tmp_path):
    """The core warns naming its option (option `neighborhood_id`); the command line shows
    it as one line with its own flag, not Python's module, line number and source line."""
    import geopandas as gpd

    nbhd = gpd.read_file(tiny_files["neighborhoods"])[["name", "geometry"]]  # no id column
    nbhd.to_file(tmp_path / "no_id.gpkg")
    args = ["analyze", *[a for k in ("calls", "providers", "wards", "population")
                         for a in (f"--{k}", str(tiny_files[k]))],
            "--neighborhoods", str(tmp_path / "no_id.gpkg"), "--preset", "generic",
            "--accept-undated", "--out", str(tmp_path / "ws"), "--quiet"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if "no id column found" in ln)
    assert line.startswith("warning: ") and "--neighborhood-id" in line
    assert "option `" not in res.output and "UserWarning" not in res.output
    assert ".py:" not in res.output


def test_a_calls_file_without_its_agency_column_names_default_agency(tmp_path):
    """The issue's first run: 'column agency: required column missing' and no way out."""
    p = tmp_path / "calls.csv"
    p.write_text("id,call_type,time,latitude,longitude\n"
                 "1,Theft,2018-04-12T10:00:00,44.97,-93.26\n")
    generic = ColumnMap(id="id", call_type="call_type", agency="agency", time="time",
                        latitude="latitude", longitude="longitude", crs="EPSG:4326")
    with pytest.raises(ValidationError) as err:
        read_calls(p, columns=generic)
    text = str(err.value)
    assert "column 'agency': required column missing" in text
    assert err.value.notes[-1].startswith("no agency column 'agency': give option `agency`")
    assert "option `default_agency` AGENCY" in text and "--" not in text
    assert "--default-agency AGENCY" in cli_message(text)
    assert_flags_exist(cli_message(text), "analyze")
    one_department = ColumnMap(id="id", call_type="call_type", agency=None,
                               default_agency="SHERIFF", time="time", latitude="latitude",
                               longitude="longitude", crs="EPSG:4326")
    assert read_calls(p, columns=one_department).frame["agency"].tolist() == ["SHERIFF"]
