"""The map's classes and colours as QGIS styles (QML) and OGC Styled Layer Descriptors (SLD
1.0), for the ``layer_styles`` table of the GeoPackage export.

A :class:`Rule` is one class of a layer (a filter on one property, a label, a colour and a
marker shape); :func:`qml` and :func:`sld` write the same rules in the two languages, so
QGIS and SLD-aware programs draw the classes and colours of the web map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

__all__ = ["Rule", "categorized", "graduated", "qml", "sld"]

Kind = Literal["fill", "marker"]


@dataclass(frozen=True)
class Rule:
    """One class: features whose ``attribute`` equals ``value`` (categorized) or lies in
    [lower, upper] (graduated) are drawn in ``color`` (``#rrggbb``)."""

    label: str
    color: str
    value: str | int | None = None
    lower: float | None = None
    upper: float | None = None
    shape: str = "circle"
    """Marker shape for point layers: circle, square, triangle, diamond, star."""


@dataclass(frozen=True)
class Style:
    """The rules of one layer and how they apply."""

    attribute: str
    kind: Kind
    rules: tuple[Rule, ...]
    graduated: bool


def categorized(attribute: str, kind: Kind, rules: list[Rule]) -> Style:
    """Classes by equal value of ``attribute``."""
    return Style(attribute, kind, tuple(rules), graduated=False)


def graduated(attribute: str, kind: Kind, rules: list[Rule]) -> Style:
    """Classes by ranges of ``attribute``."""
    return Style(attribute, kind, tuple(rules), graduated=True)


def _rgba(color: str, alpha: int = 255) -> str:
    c = color.lstrip("#")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{alpha}"


def _option(name: str, value: str) -> str:
    return f'<Option name={quoteattr(name)} type="QString" value={quoteattr(value)}/>'


def _qml_symbol(index: int, kind: Kind, rule: Rule) -> str:
    if kind == "fill":
        opts = (_option("color", _rgba(rule.color)) + _option("outline_color", "80,80,80,255")
                + _option("outline_width", "0.26") + _option("outline_style", "solid")
                + _option("style", "solid"))
        layer = f'<layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map">' \
                f"{opts}</Option></layer>"
    else:
        opts = (_option("color", _rgba(rule.color)) + _option("name", rule.shape)
                + _option("outline_color", "255,255,255,255") + _option("size", "3")
                + _option("size_unit", "MM"))
        layer = f'<layer class="SimpleMarker" enabled="1" locked="0" pass="0">' \
                f'<Option type="Map">{opts}</Option></layer>'
    return (f'<symbol type="{kind}" name="{index}" alpha="1" clip_to_extent="1" '
            f'force_rhr="0">{layer}</symbol>')


def qml(style: Style) -> str:
    """The QGIS style document (symbology only) of ``style``."""
    symbols = "".join(_qml_symbol(i, style.kind, r) for i, r in enumerate(style.rules))
    if style.graduated:
        ranges = "".join(
            f'<range lower="{r.lower!r}" upper="{r.upper!r}" symbol="{i}" '
            f'label={quoteattr(r.label)} render="true"/>' for i, r in enumerate(style.rules))
        body = (f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(style.attribute)} '
                f'graduatedMethod="GraduatedColor" symbollevels="0" forceraster="0" '
                f'enableorderby="0"><ranges>{ranges}</ranges><symbols>{symbols}</symbols>'
                f"</renderer-v2>")
    else:
        cats = "".join(
            f'<category value={quoteattr("" if r.value is None else str(r.value))} '
            f'symbol="{i}" label={quoteattr(r.label)} render="true"/>'
            for i, r in enumerate(style.rules))
        body = (f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(style.attribute)} '
                f'symbollevels="0" forceraster="0" enableorderby="0"><categories>{cats}'
                f"</categories><symbols>{symbols}</symbols></renderer-v2>")
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
            f'<qgis version="3.28.0" styleCategories="Symbology">{body}</qgis>')


_SLD_SHAPES = {"circle": "circle", "square": "square", "triangle": "triangle",
               "diamond": "square", "star": "star"}


def _sld_filter(attribute: str, rule: Rule, graduated_: bool) -> str:
    prop = f"<ogc:PropertyName>{escape(attribute)}</ogc:PropertyName>"
    if graduated_:
        return (f"<ogc:Filter><ogc:PropertyIsBetween>{prop}"
                f"<ogc:LowerBoundary><ogc:Literal>{rule.lower!r}</ogc:Literal></ogc:LowerBoundary>"
                f"<ogc:UpperBoundary><ogc:Literal>{rule.upper!r}</ogc:Literal></ogc:UpperBoundary>"
                f"</ogc:PropertyIsBetween></ogc:Filter>")
    if rule.value is None:
        return f"<ogc:Filter><ogc:PropertyIsNull>{prop}</ogc:PropertyIsNull></ogc:Filter>"
    return (f"<ogc:Filter><ogc:PropertyIsEqualTo>{prop}<ogc:Literal>{escape(str(rule.value))}"
            f"</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>")


def _sld_symbolizer(kind: Kind, rule: Rule) -> str:
    if kind == "fill":
        return (f'<PolygonSymbolizer><Fill><CssParameter name="fill">{rule.color}'
                f'</CssParameter></Fill><Stroke><CssParameter name="stroke">#505050'
                f'</CssParameter><CssParameter name="stroke-width">0.5</CssParameter>'
                f"</Stroke></PolygonSymbolizer>")
    return (f"<PointSymbolizer><Graphic><Mark><WellKnownName>{_SLD_SHAPES[rule.shape]}"
            f'</WellKnownName><Fill><CssParameter name="fill">{rule.color}</CssParameter>'
            f'</Fill><Stroke><CssParameter name="stroke">#ffffff</CssParameter></Stroke>'
            f"</Mark><Size>10</Size></Graphic></PointSymbolizer>")


def sld(layer: str, style: Style) -> str:
    """The SLD 1.0 document of ``style`` for the named layer."""
    rules = "".join(
        f"<Rule><Name>{escape(r.label)}</Name><Title>{escape(r.label)}</Title>"
        f"{_sld_filter(style.attribute, r, style.graduated)}{_sld_symbolizer(style.kind, r)}"
        f"</Rule>" for r in style.rules)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" '
            'xmlns:ogc="http://www.opengis.net/ogc" '
            'xmlns:xlink="http://www.w3.org/1999/xlink" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<NamedLayer><Name>{escape(layer)}</Name><UserStyle><Name>{escape(layer)}</Name>"
            f"<FeatureTypeStyle>{rules}</FeatureTypeStyle></UserStyle></NamedLayer>"
            "</StyledLayerDescriptor>")
