"""The embedded synthetic demo city (the default when a user gives no data).

>>> from safetygap.demo import generate_city, write_city
>>> city = generate_city(seed=7, n_calls=20_000)   # doctest: +SKIP
>>> write_city(city, "demo-city")                  # doctest: +SKIP

See ``docs/DEMO.md``.
"""

from safetygap.demo._calls import (
    CALL_COLUMNS,
    CALL_GROUPS,
    DIVERTED_HANDLERS,
    DIVERTED_TARGET,
    UNKNOWN_CALL_TYPES,
)
from safetygap.demo._providers import ESCAPE_TEST_NAME, SERVICE_TYPES
from safetygap.demo.city import (
    CENTER_LON_LAT,
    CRS,
    FILES,
    PROVIDER_CSV_COLUMNS,
    DemoCity,
    generate_city,
    write_city,
)

__all__ = [
    "CALL_COLUMNS",
    "CALL_GROUPS",
    "CENTER_LON_LAT",
    "CRS",
    "DIVERTED_HANDLERS",
    "DIVERTED_TARGET",
    "ESCAPE_TEST_NAME",
    "FILES",
    "PROVIDER_CSV_COLUMNS",
    "SERVICE_TYPES",
    "UNKNOWN_CALL_TYPES",
    "DemoCity",
    "generate_city",
    "write_city",
]
