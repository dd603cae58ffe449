"""Private steps of the analysis pipeline (see :mod:`safetygap.pipeline`)."""
