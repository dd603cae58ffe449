"""City configurations: one TOML file saying where a city's files are and how to read them.

:mod:`safetygap.config.city` loads one (``safetygap analyze --config city.toml``; the
built-in column presets are such files too); :mod:`safetygap.config.starter` writes a
starter file from a city's files (``safetygap init``). The format is documented field by
field in ``docs/NEW-CITY.md``.
"""

from safetygap.config.city import (
    UNRESOLVED,
    CityConfig,
    builtin_config_names,
    builtin_config_path,
    load_city_config,
)

__all__ = [
    "UNRESOLVED",
    "CityConfig",
    "builtin_config_names",
    "builtin_config_path",
    "load_city_config",
]
