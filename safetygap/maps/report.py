"""The printable report: one self-contained HTML file a council member can open offline.

Summary figures, charts (calls by family and year, diverted share by year, the
most underserved neighborhoods per family) and a static map of need against access per
family, a "how to read this" section, drawn with
matplotlib and embedded as base64 PNG images; no external reference at all.
Static maps are drawn in the workspace's projected CRS (metres), without a
base map.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from safetygap import FAMILIES
from safetygap.labels import field, fmt_pct
from safetygap.maps.jinja import render
from safetygap.maps.pages import overview
from safetygap.maps.style import BIVARIATE_COLORS, FAMILY_STYLE, NOT_RANKED_COLOR
from safetygap.readmodel import WorkspaceView
from safetygap.readmodel.equity import equity_context
from safetygap.tables import measures as M
from safetygap.workspace import Workspace

DPI = 110


PNG_COLORS = 256
"""Colours of a chart's PNG: the charts and maps are flat colours and text, which a
256-colour palette keeps (the three gap maps shrink from about 180 kB to 60 kB each, so
the report stays under 1 MB)."""


def _png(fig: Figure) -> str:
    from PIL import Image  # matplotlib's own image library

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    buf.seek(0)
    out = io.BytesIO()
    Image.open(buf).convert("RGB").quantize(colors=PNG_COLORS).save(out, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _text(s: str) -> str:
    """Plain text for matplotlib (``$`` would start mathtext)."""
    return str(s).replace("$", r"\$")


def calls_chart(view: WorkspaceView) -> str:
    """Grouped bars: calls placed in areas per family and year."""
    table = view.calls_by_family_year()
    years = [c for c in table.columns if c != "unknown"] + (
        ["unknown"] if "unknown" in table.columns else [])
    fig = Figure(figsize=(7.5, 3.4))
    ax = fig.subplots()
    fams = list(table.index)
    width = 0.8 / max(len(years), 1)
    x = np.arange(len(fams))
    for i, year in enumerate(years):
        ax.bar(x + i * width - 0.4 + width / 2, table[year].to_numpy(), width,
               label="no valid date" if year == "unknown" else str(year))
    ax.set_xticks(x, [FAMILY_STYLE[f]["label"] if f in FAMILY_STYLE else "no family (other)"
                      for f in fams])
    ax.set_ylabel("calls placed in areas")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    ax.legend(frameon=False, fontsize=8, ncols=min(len(years), 6))
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("Calls by family of need and year", loc="left", fontsize=11)
    return _png(fig)


def diverted_chart(view: WorkspaceView) -> str:
    """Bars: share of unique calls handled by a non-police service, per year."""
    shares = view.summary.get("diverted_share", {})
    years = [str(y) for y in view.years]
    vals = [shares.get(y) for y in years]
    fig = Figure(figsize=(7.5, 2.8))
    ax = fig.subplots()
    heights = [100 * v if v is not None else 0.0 for v in vals]
    bars = ax.bar(years, heights, color="#2c7fb8")
    for b, v in zip(bars, vals, strict=True):
        ax.annotate(fmt_pct(v), (b.get_x() + b.get_width() / 2,
                    b.get_height()), ha="center", va="bottom", fontsize=8)
    if shares.get("all") is not None:
        ax.axhline(100 * shares["all"], color="#555", lw=1, ls="--")
        ax.annotate(f"all years {fmt_pct(shares['all'])}", (0.99, 100 * shares["all"]),
                    xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=8)
    ax.set_ylabel("% of unique calls")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("Calls diverted to non-police services, by year", loc="left", fontsize=11)
    return _png(fig)


def gaps_chart(view: WorkspaceView, family: str, *, top: int = 10) -> str:
    """Horizontal bars: the need of the ``top`` most underserved neighborhoods of
    ``family`` (rank 1 at the top), coloured by class, with the 95% interval of the raw rate
    as a line; uncertain classes hatched."""
    rows = view.ranking("neighborhood", family, top=top)
    fig = Figure(figsize=(7.5, 0.3 * max(len(rows), 3) + 0.9))
    ax = fig.subplots()
    names = [_text(f"{r['rank']}. {r['name']}") for r in rows][::-1]
    need = [r["need"] or 0.0 for r in rows][::-1]
    colors = [BIVARIATE_COLORS.get(r["class"], NOT_RANKED_COLOR) for r in rows][::-1]
    hatch = ["//" if r["class_uncertain"] else "" for r in rows][::-1]
    bars = ax.barh(names, need, color=colors, edgecolor="#555", linewidth=0.5)
    for b, h in zip(bars, hatch, strict=True):
        b.set_hatch(h)
    for y, r in enumerate(rows[::-1]):
        if r["rate_ci_low"] is not None and r["rate_ci_high"] is not None:
            ax.plot([r["rate_ci_low"], r["rate_ci_high"]], [y, y], color="#111", lw=1)
    ax.set_xlabel("need: calls per 1,000 residents per year (bar: smoothed; line: 95% "
                  "interval of the raw rate)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(f"{FAMILY_STYLE[family]['label']}: the {len(rows)} most underserved "
                 "neighborhoods (hatched: class uncertain)", loc="left", fontsize=11)
    return _png(fig)


def static_map(view: WorkspaceView, family: str) -> str:
    """Neighborhoods shaded by need/access class of ``family`` (uncertain classes hatched,
    hot spots outlined), ward outlines, the family's providers; projected CRS (metres),
    no base map."""
    nb = view.areas["neighborhood"]
    wards = view.areas["ward"]
    classes = view.need_access_classes("neighborhood", family)
    col = M.column(M.CLASS, family)
    cls = (np.nan_to_num(nb[col].to_numpy(float)).astype(int) if col in nb.columns
           else np.zeros(len(nb), dtype=int))
    unc_col = M.column(M.CLASS_UNCERTAIN, family)
    uncertain = (nb[unc_col].to_numpy(float) == 1) if unc_col in nb.columns \
        else np.zeros(len(nb), dtype=bool)
    hot_col = M.column(M.HOTSPOT_NEED, family)
    hot = (nb[hot_col].to_numpy(float) == 1) if hot_col in nb.columns \
        else np.zeros(len(nb), dtype=bool)
    fig = Figure(figsize=(7.5, 7.0))
    ax = fig.subplots()
    nb.plot(ax=ax, color=[BIVARIATE_COLORS.get(c, NOT_RANKED_COLOR) for c in cls],
            edgecolor="#666", linewidth=0.4)
    if uncertain.any():
        nb[uncertain].plot(ax=ax, facecolor="none", edgecolor="#333", hatch="//",
                           linewidth=0)
    if hot.any():
        nb[hot].boundary.plot(ax=ax, color="#111", linewidth=2.2)
    wards.boundary.plot(ax=ax, color="#111", linewidth=1.3)
    p = view.providers
    placeless = (p["placeless"].fillna(False).to_numpy(bool) if "placeless" in p.columns
                 else np.zeros(len(p), dtype=bool))
    prov = p[(p["family"] == family).to_numpy() & ~placeless]
    xmin, ymin, xmax, ymax = nb.total_bounds
    inside = prov.cx[xmin:xmax, ymin:ymax]
    style = FAMILY_STYLE[family]
    if len(inside):
        inside.plot(ax=ax, color=style["color"], markersize=22, edgecolor="white",
                    linewidth=0.6, zorder=5)
    handles = [Patch(facecolor=c["color"], edgecolor="#666",
                     label=f"{c['label']} ({c['areas']})") for c in classes]
    handles.append(Patch(facecolor="white", edgecolor="#333", hatch="//",
                         label="class uncertain"))
    handles.append(Patch(facecolor="white", edgecolor="#111", linewidth=2,
                         label="hot spot of need (Gi*)"))
    handles.append(Patch(facecolor=style["color"], label=f"{style['label']} providers "
                                                          f"({len(inside)})"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False,
              fontsize=8, title="need against access", title_fontsize=9)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    _scale_bar(ax, xmin, xmax, ymin, ymax)
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_title(f"{style['label']}: need and access by neighborhood", loc="left",
                 fontsize=11)
    return _png(fig)


def _scale_bar(ax: Any, xmin: float, xmax: float, ymin: float, ymax: float) -> None:
    """A scale bar of a round length (metres; the map is in a projected CRS)."""
    span = (xmax - xmin) / 4
    length = 10 ** np.floor(np.log10(span)) if span > 0 else 1.0
    for m in (5, 2, 1):
        if m * length <= span:
            length *= m
            break
    x0 = xmin + (xmax - xmin) * 0.03
    y0 = ymin + (ymax - ymin) * 0.03
    ax.plot([x0, x0 + length], [y0, y0], color="black", lw=3, solid_capstyle="butt")
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.annotate(label, (x0 + length / 2, y0), xytext=(0, 4), textcoords="offset points",
                ha="center", fontsize=8)


def build_report(view: WorkspaceView) -> str:
    """The report as one HTML string (see module docstring)."""
    return render(
        "report.html",
        **overview(view),
        family_style=FAMILY_STYLE,
        charts={
            "calls": calls_chart(view),
            "diverted": diverted_chart(view),
            "gaps": {f: gaps_chart(view, f) for f in FAMILIES},
            "maps": {f: static_map(view, f) for f in FAMILIES},
        },
        top={f: view.ranking("neighborhood", f, top=10) for f in FAMILIES},
        wards={f: view.ranking("ward", f, top=len(view.area_ids("ward"))) for f in FAMILIES},
        gap_help=field("gap").help,
        **equity_context(view, heading="h2"),
    )


def write_report(workspace: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write the report of ``workspace`` to ``out`` (HTML); returns the path."""
    view = WorkspaceView(Workspace.open(workspace))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_report(view), encoding="utf-8")
    return path
