"""``python -m safetygap.cli``: the ``safetygap`` command."""

import sys

from safetygap.cli import main

sys.exit(main())
