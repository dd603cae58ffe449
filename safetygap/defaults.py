"""Default values of options that the core and the adapters both name.

A light module (no imports), so the command line's help can show a default without
importing the analysis. Each name says what it is a default of; tolerances of different
things have different names.
"""

DEFAULT_BOUNDARY_TOLERANCE_M = 5.0
"""Metres: calls this close to a neighborhood or ward line count as near it (quality.json's
near-boundary counts, the ``split`` boundary policy). Option ``boundary_tolerance_m``;
command line ``--boundary-tolerance``."""

UNDATED_MAX_SHARE = 0.05
"""Largest share of the calls that may have no usable date before the analysis stops.
Option ``undated_max_share``; command line ``--undated-max-share``; ``--accept-undated``
runs past it (every output then says the rates are undated)."""

UNKNOWN_TYPE_MAX_SHARE = 0.10
"""Above this share of the calls of types the taxonomy does not know, the headline lists
are marked uncalibrated in every output. Option ``unknown_type_max_share``; command line
``--unknown-type-max-share``."""

WARD_COVER_MIN = 0.95
"""Below this share of the neighborhoods' area (or of their calls) in some ward, every
output warns with the area and the calls the wards miss. Option ``ward_cover_min``; command
line ``--ward-cover-min``."""

COUNT_CALLS_FROM = "public"
"""Which calls the demand measures and the diverted share count, by who started them
(:class:`safetygap.diversion.CallsFrom`). Option ``count_calls_from``; command line
``--count-calls-from``."""
