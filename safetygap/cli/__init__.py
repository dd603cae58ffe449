"""The ``safetygap`` command line: one entry point, one subcommand per job.

    safetygap demo [--out DIR] [--no-serve]      build the synthetic demo city and analyse it
    safetygap analyze --calls F --providers F --neighborhoods F --wards F --out DIR
                      (--boundaries F is the same as --neighborhoods F)
    safetygap analyze --data DIR --providers F --out DIR   analyse what `fetch` downloaded
                      [--travel network --mode walk|drive --network FILE]
                      [--engine memory|dask [--scheduler ADDRESS]]
    safetygap fetch minneapolis --out DIR [--years 2022-2024]
                                                 download the city's boundaries and 911 calls
    safetygap network fetch --place "Minneapolis, Minnesota" --out F.graphml
                      [--nominatim-url U --overpass-url U]
    safetygap site --workspace DIR --family F --k K     recommend new sites
    safetygap whatif --workspace DIR --providers FILE   indices with hypothetical providers
    safetygap serve --workspace DIR [--host H] [--port P]   serve the maps and the API
    safetygap rerun --workspace DIR [--calls F ...]    re-run beside the served analysis and
                                                 swap the new version in atomically
    safetygap report --workspace DIR --out report.html     printable self-contained report
    safetygap presets                            list the built-in column presets
    safetygap init --calls F --neighborhoods F [--wards F --providers F --population F]
                                                 write a starter city configuration (TOML)
    safetygap analyze --config city.toml --out DIR    analyse a city from its configuration
    safetygap providers minneapolis --facilities DIR --city F --out F
                                                 providers from the city's facility files
    safetygap diversion eligibility|hours|scenario --workspace DIR
                                                 eligibility models, coverage by the hour,
                                                 the path to 20%
    safetygap providers osm --boundary F | --features F --out F
                                                 providers from OpenStreetMap
    safetygap providers geocode LIST.csv --address-points F --out F
                                                 an organisations list placed by address
    safetygap providers merge A.csv B.csv ... --out F   one inventory, duplicates resolved
"""

from __future__ import annotations

import sys

# isort: off
# each module registers its commands when imported: this is their order in --help
import safetygap.cli.analyze
import safetygap.cli.serve
import safetygap.cli.workspace
import safetygap.cli.fetch
import safetygap.cli.providers
import safetygap.cli.network
import safetygap.cli.scenarios
import safetygap.cli.profile
import safetygap.cli.init
import safetygap.cli.diversion  # noqa: F401
# isort: on
from safetygap.cli._app import app
from safetygap.cli.serve import DEMO_OUT

__all__ = ["DEMO_OUT", "app", "main"]


def main() -> None:
    """Entry point of the ``safetygap`` console script."""
    app(prog_name="safetygap")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
