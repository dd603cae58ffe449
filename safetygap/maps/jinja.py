"""The Jinja2 environment of safetygap's pages (templates in ``maps/templates``, autoescape
on, so every string from the data is HTML-escaped) and the small HTML helpers templates use.
Shared by the index page and ward panel (:mod:`.pages`), the area pages (:mod:`.area_page`),
the sites page (:mod:`.sites`) and the report (:mod:`.report`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from safetygap import __version__
from safetygap.labels import (
    family_label,
    fmt_distance,
    fmt_num,
    fmt_pct,
    fmt_value,
    label,
    service_label,
)
from safetygap.maps.style import FAMILY_STYLE

TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of safetygap's pages (autoescape on); filters ``num``,
    ``pct`` (one decimal) and ``value`` (a measure as :mod:`safetygap.labels` formats it)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fmt_num
    env.filters["pct"] = fmt_pct
    env.filters["value"] = lambda v, measure, unit=False: fmt_value(measure, v, unit=unit)
    env.filters["distance"] = fmt_distance
    env.globals["field_label"] = label
    env.globals["family_label"] = family_label
    env.globals["service_label"] = service_label
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(version=__version__, **context)


def pin_html(family: str) -> str:
    """A small marker of ``family`` (its colour, shape and icon) as on the maps."""
    d = FAMILY_STYLE[family]
    return (f"<span class='sg-pin sg-pin-small sg-shape-{d['shape']}' "
            f"style='background:{d['color']}'><i class='fa-solid {d['icon']}' "
            "aria-hidden='true'></i></span>")
