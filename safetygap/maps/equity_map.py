"""The equity map page (``/maps/equity``): one demographic group's share against one
family's access, per neighborhood, as a bivariate choropleth (share terciles x access
terciles, :func:`safetygap.readmodel.equity.equity_layer`).

Every area's tooltip gives the share with its 90% interval, its reliability and the access
value; areas whose share is unreliable (CV above 30%, or no margin of error) are drawn
paler with a dashed outline and listed as such. A side panel holds the group and family
choice (a plain form: works without scripts), the 3 x 3 legend in words and the areas of
"high share, low access". Strings from the data are HTML-escaped before they reach the
page.
"""

from __future__ import annotations

from html import escape
from typing import Any

import folium

from safetygap import FAMILIES
from safetygap.maps.gap_map import MapOptions, _base_map, _page, _Raw
from safetygap.readmodel import WorkspaceView
from safetygap.readmodel.equity import BIVARIATE_COLORS, bivariate_label, equity_layer

__all__ = ["build_equity_map"]

UNRELIABLE_STYLE = {"dashArray": "5 4", "fillOpacity": 0.35, "weight": 2.0,
                    "color": "#222222"}
RELIABLE_STYLE = {"fillOpacity": 0.8, "weight": 0.8, "color": "#555555"}
STYLE = (
    "<style>.sg-panel form{display:grid;grid-template-columns:auto minmax(0,1fr);gap:4px 8px;"
    "align-items:center;margin-bottom:8px}.sg-panel form button{grid-column:2;justify-self:start}"
    ".sg-panel select{width:100%;min-width:0;font-size:14px}"
    ".sg-bivariate td{width:33%;height:28px;text-align:center;font-weight:600;color:#111;"
    "border:1px solid #fff}.sg-bivariate caption{text-align:left;color:#555}"
    ".sg-dashed{border:2px dashed #222;padding:0 4px;background:rgba(190,100,172,.35)}"
    ".sg-unreliable{color:#8a0000}.sg-muted{color:#555}.sg-concern{padding-left:18px}</style>")
CONCERN_CLASS = 7
"""Bivariate class "high share, low access"."""


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _tooltip_props(p: dict[str, Any]) -> dict[str, str]:
    interval = ("no interval" if p["share_low"] is None else
                f"{_pct(p['share_low'])} to {_pct(p['share_high'])}")
    rel = p["reliability"] + (" (do not read as exact)" if p["unreliable"] else "")
    return {
        "Area": escape(p["name"]),
        "Class": escape(p["label"]),
        "Share": _pct(p["share"]),
        "90% interval": interval,
        "Reliability": escape(rel),
        "Access": "–" if p["access"] is None else f"{p['access']:.3f}",
    }


def _panel(view: WorkspaceView, layer: dict[str, Any], groups: list[dict[str, Any]],
           family: str, options: MapOptions) -> str:
    feats = [f["properties"] for f in layer["features"]]
    group_opts = "".join(
        f"<option value='{escape(g['key'])}'{' selected' if g['key'] == layer['group'] else ''}>"
        f"{escape(g['label'])}</option>" for g in groups)
    fam_opts = "".join(
        f"<option value='{f}'{' selected' if f == family else ''}>{f.capitalize()}</option>"
        for f in FAMILIES)
    cells = []
    for s in (3, 2, 1):
        row = "".join(
            f"<td style='background:{BIVARIATE_COLORS[s - 1][a - 1]}' "
            f"title='{bivariate_label(s, a)}'>"
            f"{sum(x['bivariate_class'] == 3 * (s - 1) + a for x in feats)}</td>"
            for a in (1, 2, 3))
        cells.append(f"<tr><th scope='row'>{['low', 'middle', 'high'][s - 1]}</th>{row}</tr>")
    legend = ("<table class='sg-bivariate' aria-label='areas per class: share of the group "
              "(rows) against access (columns)'><caption>areas per class</caption>"
              "<tr><th>share \u2193 / access \u2192</th><th>low</th><th>middle</th>"
              "<th>high</th></tr>" + "".join(cells) + "</table>")
    concern = sorted((x for x in feats if x["bivariate_class"] == CONCERN_CLASS),
                     key=lambda x: -(x["share"] or 0))
    def interval(x: dict[str, Any]) -> str:
        if x["share_low"] is None:
            return "no interval"
        return f"{_pct(x['share_low'])}–{_pct(x['share_high'])}"

    items = "".join(
        f"<li>{escape(x['name'])}: {_pct(x['share'])} "
        f"<span class='sg-muted'>({interval(x)})</span>"
        + (" <strong class='sg-unreliable'>unreliable</strong>" if x["unreliable"] else "")
        + "</li>" for x in concern)
    n_unrel = sum(x["unreliable"] for x in feats)
    return (
        "<aside class='sg-panel' aria-label='equity map controls and findings'>"
        f"<form method='get' action='{escape(options.pages_prefix)}/equity'>"
        "<label for='sg-group'>Group</label>"
        f"<select id='sg-group' name='group'>{group_opts}</select>"
        "<label for='sg-family'>Services</label>"
        f"<select id='sg-family' name='family'>{fam_opts}</select>"
        "<button type='submit'>Show</button></form>"
        f"<h2>{escape(layer['group_label'])} against {family} access</h2>"
        "<p>Each neighborhood is coloured by the group's share of residents (pink rises with "
        "the share) and by its access to the family's services (blue rises with access), "
        "each in thirds of the neighborhoods. Strong pink: a high share and low access.</p>"
        "<p class='sg-muted sg-all-years'>The same map for every year, so there is no year "
        "to choose: access counts residents and the services listed (not calls), and the "
        "shares come from one survey.</p>"
        + legend +
        f"<p><span class='sg-dashed'>Dashed and pale</span>: share unreliable (coefficient of "
        f"variation above 30%, or no margin of error): {n_unrel} of {len(feats)} areas.</p>"
        f"<h3>High share, low access ({len(concern)})</h3>"
        f"<ul class='sg-concern'>{items or '<li>none</li>'}</ul>"
        "<p class='sg-muted'>Shares are survey estimates with 90% intervals "
        f"(<a href='{escape(options.api_prefix)}/equity/areas?group={escape(layer['group'])}"
        f"&amp;family={family}&amp;format=csv'>download as CSV</a>).</p></aside>"
    )


def build_equity_map(view: WorkspaceView, *, group: str, family: str = "prevention",
                     options: MapOptions | None = None) -> folium.Map:
    """The equity map page of ``group`` against ``family`` (see module docstring)."""
    options = options or MapOptions()
    layer = equity_layer(view, "neighborhood", group, family, tolerance_m=options.tolerance_m)
    m = _base_map(view, options, bounds=view.bounds("neighborhood"))
    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": f["geometry"],
         "properties": {**_tooltip_props(f["properties"]),
                        "_color": f["properties"]["color"],
                        "_unreliable": f["properties"]["unreliable"]}}
        for f in layer["features"]]}

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        p = feature["properties"]
        base = UNRELIABLE_STYLE if p["_unreliable"] else RELIABLE_STYLE
        return {"fillColor": p["_color"], **base}

    folium.GeoJson(
        data, name=f"{layer['group_label']} against {family} access", style_function=style,
        tooltip=folium.GeoJsonTooltip(fields=["Area", "Class", "Share", "90% interval",
                                              "Reliability", "Access"]),
    ).add_to(m)
    m.get_root().header.add_child(_Raw(STYLE), name="sg_equity_style")
    groups = view.workspace.equity["groups"]
    title = f"Who lives in the gaps: {layer['group_label']}"
    return _page(m, view, title, options, _panel(view, layer, groups, family, options))
