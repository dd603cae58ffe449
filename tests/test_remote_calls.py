"""`safetygap analyze --calls URL` (issue 17, item 2): the files a URL names are copied
beside the workspace with fsspec, analysed as local files, and removed. fsspec's in-memory
filesystem (``memory://``) stands in for a bucket: no network."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import load_compare_workspaces
from typer.testing import CliRunner

from safetygap.cli import app

fsspec = pytest.importorskip("fsspec")


@pytest.fixture
def bucket(tiny_files, request):
    """The tiny city's calls cut into two CSV files in memory://<test>/calls/, with a
    `_SUCCESS` marker and a hidden file a reader must leave out; the same two files on
    disk."""
    fs = fsspec.filesystem("memory")
    root = f"/{request.node.name.replace('[', '_').replace(']', '_')}"
    calls = pd.read_csv(tiny_files["calls"], dtype=str)
    local = Path(tiny_files["calls"]).parent / "parts"
    (local / "year=2023").mkdir(parents=True)
    for i, part in enumerate((calls.iloc[:6], calls.iloc[6:])):
        text = part.to_csv(index=False)
        fs.pipe(f"{root}/calls/year=2023/part-{i}.csv", text.encode())
        (local / "year=2023" / f"part-{i}.csv").write_text(text)
    fs.pipe(f"{root}/calls/_SUCCESS", b"")
    fs.pipe(f"{root}/calls/.hidden.csv", b"not,calls\n1,2\n")
    yield {"url": f"memory://{root}/calls", "fs": fs, "root": root, "local": local}
    fs.rm(root, recursive=True)


def _analyze(tiny_files, calls: str, out: Path):
    args = ["analyze", "--calls", calls, "--providers", str(tiny_files["providers"]),
            "--neighborhoods", str(tiny_files["neighborhoods"]),
            "--wards", str(tiny_files["wards"]), "--population", str(tiny_files["population"]),
            "--preset", "generic", "--accept-undated", "--bootstrap", "20",
            "--method", "hotspot_permutations=9", "--no-precompute", "--out", str(out)]
    return CliRunner().invoke(app, args)


def _same_as_local(tiny_files, ws: Path, tmp_path: Path, local: Path) -> None:
    ref = tmp_path / "local-ws"
    res = _analyze(tiny_files, str(local), ref)
    assert res.exit_code == 0, res.output
    diff = load_compare_workspaces().compare(ref, ws)
    assert all(not v for k, v in diff.items() if k not in ("manifest.json", "quality.json")), diff
    assert [line.split(":")[0] for line in diff["quality.json"]] == [".calls.file"]
    # the same files (same names, same checksum): only where they were read differs
    assert [line.split(":")[0] for line in diff["manifest.json"]] == [
        ".inputs.calls.origin", ".inputs.calls.path"], diff["manifest.json"]


def test_a_folder_url_is_copied_analysed_and_removed(tiny_files, bucket, tmp_path):
    out = tmp_path / "ws"
    res = _analyze(tiny_files, bucket["url"], out)
    assert res.exit_code == 0, res.output
    assert "copied 2/2 year=2023/part-1.csv" in res.output
    quality = json.loads((out / "quality.json").read_text())
    assert quality["calls"]["file"] == bucket["url"]  # not the removed copy
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"]["calls"]["origin"] == bucket["url"]
    assert manifest["inputs"]["calls"]["files"] == 2
    assert not list(tmp_path.glob(".safetygap-calls-*"))  # the copy is removed
    _same_as_local(tiny_files, out, tmp_path, bucket["local"])


def test_a_glob_and_a_single_file_url(tiny_files, bucket, tmp_path):
    res = _analyze(tiny_files, bucket["url"] + "/*/part-*.csv", tmp_path / "glob")
    assert res.exit_code == 0, res.output
    _same_as_local(tiny_files, tmp_path / "glob", tmp_path, bucket["local"])
    one = f"memory://{bucket['root']}/one.csv"
    bucket["fs"].pipe(one.removeprefix("memory://"), Path(tiny_files["calls"]).read_bytes())
    res = _analyze(tiny_files, one, tmp_path / "one")
    assert res.exit_code == 0, res.output
    calls = pd.read_parquet(tmp_path / "one" / "calls.parquet")
    assert len(calls) == len(pd.read_csv(tiny_files["calls"]))


def test_a_url_naming_nothing_is_refused_by_name(tiny_files, bucket, tmp_path):
    url = f"memory://{bucket['root']}/nothing-here/"
    res = _analyze(tiny_files, url, tmp_path / "ws")
    assert res.exit_code == 2
    assert f"--calls {url}: nothing at this URL" in " ".join(res.output.split())
    assert not (tmp_path / "ws").exists()
    assert not list(tmp_path.glob(".safetygap-calls-*"))


def test_a_protocol_whose_package_is_missing_names_it(tiny_files, tmp_path):
    if importlib.util.find_spec("gcsfs") is not None:
        pytest.skip("gcsfs is installed here")
    res = _analyze(tiny_files, "gs://some-bucket/calls/", tmp_path / "ws")
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "--calls gs://some-bucket/calls/" in text and "gcsfs" in text
    assert "Traceback" not in res.output


def test_profile_and_init_read_a_url_and_the_configuration_names_it(tiny_files, bucket,
                                                                    tmp_path, monkeypatch):
    """`profile URL` profiles the copied files (and names the URL); `init --calls URL`
    samples the first file and writes the URL as [calls] file; `analyze --config` then
    copies the calls itself and gives the workspace of the same files on disk."""
    import tomllib

    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["profile", bucket["url"], "--preset", "generic", "--json"])
    assert res.exit_code == 0, res.output
    prof = json.loads(res.output[res.output.index("{"):])
    assert prof["file"] == bucket["url"] and prof["rows"] == 11
    assert not list(tmp_path.glob(".safetygap-calls-*"))

    config = tmp_path / "tiny.toml"
    res = CliRunner().invoke(app, [
        "init", "--calls", bucket["url"], "--neighborhoods", str(tiny_files["neighborhoods"]),
        "--wards", str(tiny_files["wards"]), "--providers", str(tiny_files["providers"]),
        "--population", str(tiny_files["population"]), "--out", str(config)])
    assert res.exit_code == 0, res.output
    assert "copied 1/1 year=2023/part-0.csv" in res.output  # a sample: the first file
    assert tomllib.loads(config.read_text())["calls"]["file"] == bucket["url"]
    # six rows do not tell the call-type column: set it, as the user would
    text = config.read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("call_type = "))
    config.write_text(text.replace(line, 'call_type = "call_type"'))
    out = tmp_path / "ws"
    res = CliRunner().invoke(app, ["analyze", "--config", str(config), "--accept-undated",
                                   "--bootstrap", "20", "--method", "hotspot_permutations=9",
                                   "--no-precompute", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "copied 2/2" in res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"]["calls"]["origin"] == bucket["url"]
    assert not list(tmp_path.glob(".safetygap-calls-*"))
