"""`safetygap profile` and `safetygap presets`: what a calls file holds; the column presets."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetygap.errors import ValidationError

if TYPE_CHECKING:

    pass
from safetygap.cli._app import (
    DATE_HELP,
    DEFAULT_AGENCY_HELP,
    DEFAULT_SOURCE_HELP,
    FEED_HELP,
    SOURCE_HELP,
    SOURCE_VALUE_HELP,
    TIME_FORMAT_HELP,
    Command,
    app,
    fail,
    pairs,
    write_json_out,
)
from safetygap.cli._remote import local_calls


@app.command(cls=Command)
def profile(
    calls: Annotated[str | None, typer.Argument(
        help="calls file, or a folder or glob of CSV or Parquet partitions, or a URL of "
             "one (what --calls reads; default: the --config's)")] = None,
    config: Annotated[str | None, typer.Option(
        help="city configuration (TOML file or built-in name): its calls file, columns, "
             "taxonomy and rules, the options here overriding them")] = None,
    preset: Annotated[str | None, typer.Option(
        help="column preset (default: the built-in preset whose columns the file has, "
             "else generic)")] = None,
    diversion_rules: Annotated[Path | None, typer.Option(
        help="diversion rule set TOML (default: the Minneapolis rules)")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="call taxonomy TOML")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the profile as JSON")]
    = False,
    write_rules: Annotated[Path | None, typer.Option(
        help="write a starter diversion rule file (TOML) listing the file's own types by "
             "count with a family and channel suggested from words in each, every "
             "suggestion marked REVIEW")] = None,
    write_taxonomy: Annotated[Path | None, typer.Option(
        help="write a starter taxonomy (TOML): the taxonomy in use with the file's own types "
             "it does not know added to the category a word in each suggests, every "
             "addition marked REVIEW, the rest listed as UNRESOLVED")] = None,
    id_col: Annotated[str | None, typer.Option("--id", help="call id column")] = None,
    type_col: Annotated[str | None, typer.Option("--type", help="call type column")] = None,
    agency_col: Annotated[str | None, typer.Option("--agency", help="agency column")] = None,
    default_agency: Annotated[str | None, typer.Option(help=DEFAULT_AGENCY_HELP)] = None,
    source_col: Annotated[str | None, typer.Option("--source", help=SOURCE_HELP)] = None,
    source_value: Annotated[list[str] | None, typer.Option(help=SOURCE_VALUE_HELP)] = None,
    default_source: Annotated[str | None, typer.Option(help=DEFAULT_SOURCE_HELP)] = None,
    feed_col: Annotated[str | None, typer.Option("--feed", help=FEED_HELP)] = None,
    time_col: Annotated[str | None, typer.Option("--time", help="time column")] = None,
    date_col: Annotated[str | None, typer.Option("--date", help=DATE_HELP)] = None,
    time_format: Annotated[str | None, typer.Option(help=TIME_FORMAT_HELP)] = None,
    disposition_col: Annotated[str | None, typer.Option(
        "--disposition", help="disposition column")] = None,
    priority_col: Annotated[str | None, typer.Option("--priority", help="priority column")]
    = None,
    lat: Annotated[str | None, typer.Option(help="latitude column")] = None,
    lon: Annotated[str | None, typer.Option(help="longitude column")] = None,
    x: Annotated[str | None, typer.Option(help="x column (with --calls-crs)")] = None,
    y: Annotated[str | None, typer.Option(help="y column (with --calls-crs)")] = None,
    calls_crs: Annotated[str | None, typer.Option(help="CRS of x/y columns")] = None,
    encoding: Annotated[str | None, typer.Option(
        help="text encoding of CSV inputs (default: utf-8)")] = None,
) -> None:
    """Profile a calls file: fields, agencies, top types, channels, gaps.

    Lists the fields and which are recognised, the agencies, the top problem types and
    dispositions with the channel and rule each falls to, the unmatched values and the
    date span and gaps; --write-rules writes a starter rule file, --write-taxonomy a
    starter taxonomy naming the city's own types."""
    from safetygap.config.city import load_city_config, resolve_columns
    from safetygap.diversion import load_rules
    from safetygap.inputs import calls_header
    from safetygap.inputs.columns import matching_presets
    from safetygap.profile import profile_calls, write_starter_rules, write_starter_taxonomy
    from safetygap.taxonomy import load_taxonomy

    copies = contextlib.ExitStack()  # a URL's calls: a local copy, removed at the end
    try:
        city = load_city_config(config) if config else None
        files = dict(city.files) if city else {}
        calls = calls or files.get("calls")
        if calls is None:
            raise ValidationError("calls: give the calls file (or --config with [calls] "
                                  "file)")
        local, origin = copies.enter_context(local_calls(
            calls, beside=Path.cwd() / "profile", quiet=json_out))
        calls = local
        encoding = encoding or (city.options.get("encoding") if city else None) or "utf-8"
        rules = load_rules(diversion_rules or files.get("diversion_rules"))
        tax = load_taxonomy(taxonomy or files.get("taxonomy"))
        if preset is None and (city is None or city.columns is None):
            found = matching_presets(calls_header(calls, encoding=encoding))
            preset = found[0] if found else None
        cmap = resolve_columns(city, {
            "id": id_col, "call_type": type_col, "agency": agency_col,
            "default_agency": default_agency, "source": source_col,
            "source_values": pairs(source_value, "--source-value", "VALUE=SOURCE"),
            "default_source": default_source, "feed": feed_col,
            "time": time_col, "date": date_col,
            "time_format": time_format, "latitude": lat, "longitude": lon, "x": x, "y": y,
            "crs": calls_crs, "disposition": disposition_col, "priority": priority_col},
            preset=preset)
        result = profile_calls(calls, columns=cmap, taxonomy=tax, rules=rules,
                               encoding=encoding)
        result["preset"] = preset
        result["config"] = city.source if city else None
        if origin is not None:
            result["file"] = origin
        if write_rules is not None or write_taxonomy is not None:
            from safetygap.inputs import read_calls

            frame = read_calls(calls, columns=cmap, encoding=encoding).frame
        if write_rules is not None:
            stem = Path(str(origin or calls).rstrip("/")).stem
            path = write_starter_rules(write_rules, result, calls=frame,
                                       name=f"{stem}-starter")
            result["starter_rules"] = str(path)
            load_rules(path)  # the starter file must load as it is
        if write_taxonomy is not None:
            what = write_starter_taxonomy(write_taxonomy, calls=frame, file=origin or str(calls),
                                          taxonomy=taxonomy or files.get("taxonomy"))
            load_taxonomy(what["path"])  # the starter file must load as it is
            result["starter_taxonomy"] = {
                "path": what["path"],
                "added": {k: [t for t, _, _ in v] for k, v in what["added"].items()},
                "unresolved": [t for t, _ in what["unresolved"]]}
    except ValidationError as exc:
        fail(exc)
        return
    finally:
        copies.close()
    if json_out:
        write_json_out(result, None)
        return
    typer.echo(_profile_text(result))


def _profile_text(p: dict) -> str:
    """The profile in words, for the terminal."""
    lines = [f"{p['file']}: {p['rows']:,} rows"
             + (f" (preset {p['preset']})" if p.get("preset") else
                f" (config {p['config']})" if p.get("config") else " (generic columns)")]
    lines.append("fields: " + ", ".join(
        f"{f['field']}={f['column']}" + ("" if f["found"] else " (NOT FOUND)")
        for f in p["fields"]))
    if p["unmapped_columns"]:
        lines.append("not used: " + ", ".join(p["unmapped_columns"]))
    d = p["dates"]
    if d.get("form"):
        lines.append(f"times: {d['form']['description']}")
    if d.get("first"):
        lines.append(f"dates: {d['first']} to {d['last']} ({d['days']:,} days, "
                     f"{d['days_with_calls']:,} with calls, {d['undated']:,} rows undated)")
        for g in d["gaps"][:5]:
            lines.append(f"  gap: no calls {g['from']} to {g['to']} ({g['days']} days)")
    else:
        lines.append(f"dates: none parsed ({d['undated']:,} rows undated)")
    lines.append("agencies: " + ", ".join(f"{a['value']} {a['calls']:,}"
                                          for a in p["agencies"]["top"]))
    if p.get("sources"):
        lines.append("call sources: " + ", ".join(f"{a['value']} {a['calls']:,}"
                                                  for a in p["sources"]["top"]))
    if p.get("feeds"):
        lines.append("feeds (each one's covered time measured on its own): " + ", ".join(
            f"{a['value']} {a['calls']:,}" for a in p["feeds"]["top"]))
    ds = p["diverted_share"]
    if ds["share"] is not None:
        lines.append(f"diverted: {ds['diverted']:,} of {ds['denominator']:,} calls "
                     f"({ds['share']:.1%}) by the rules {p['diversion_rules']['name']}")
    lines.append("channels: " + ", ".join(f"{k} {v:,}" for k, v in p["channels"].items()
                                          if v))
    lines.append(f"top problem types (of {p['problem_types']['distinct']:,}): "
                 "calls, share, category, channel (rule)")
    for t in p["problem_types"]["top"]:
        lines.append(f"  {t['calls']:>9,} {t['share']:6.1%}  {t['value']}  ->  "
                     f"{t['category']}, {t['channel']} ({t['rule']})")
    for key, label in (("dispositions", "dispositions"), ("priorities", "priorities")):
        if p.get(key):
            lines.append(f"{label} (of {p[key]['distinct']:,}): calls, channel (rule)")
            for v in p[key]["top"][:12]:
                lines.append(f"  {v['calls']:>9,} {v['share']:6.1%}  {v['value']}  ->  "
                             f"{v['channel']} ({v['rule']})" + _mixed(v))
    u = p["unmatched"]["types_unknown_to_taxonomy"]
    lines.append(f"types the taxonomy does not know: {u['distinct']:,} types, "
                 f"{u['calls']:,} calls ({u['share']:.1%})")
    for t in u["top"][:10]:
        lines.append(f"  {t['calls']:>9,}  {t['value']}")
    lines.append(f"calls no diversion rule matched (default channel): "
                 f"{p['unmatched']['calls_no_rule_matched']:,}")
    if p.get("starter_rules"):
        lines.append(f"starter rule file written to {p['starter_rules']} (every suggestion "
                     "marked REVIEW)")
    t = p.get("starter_taxonomy")
    if t:
        n = sum(len(v) for v in t["added"].values())
        lines.append(f"starter taxonomy written to {t['path']}: {n:,} of the file's own types "
                     f"added, each marked REVIEW; {len(t['unresolved']):,} UNRESOLVED")
    return "\n".join(lines)


def _mixed(row: dict) -> str:
    """The other channels a value's calls fall to (``; also police 3``), or nothing."""
    others = [f"{c} {k:,}" for c, k in row["channels"].items() if c != row["channel"]]
    return f"; also {', '.join(others)}" if others else ""


@app.command(cls=Command)
def presets() -> None:
    """List the built-in city configurations (column presets for calls files)."""
    from safetygap.inputs import load_preset, preset_names

    for name in preset_names():
        p = load_preset(name)
        typer.echo(f"{name}: {p.description}")
    typer.echo("use one with --preset NAME or --config NAME; write your city's own with "
               "`safetygap init` (docs/NEW-CITY.md)")
