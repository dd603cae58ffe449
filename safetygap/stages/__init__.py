"""The stages of an analysis, one module each; :func:`safetygap.pipeline.analyze` is a recipe
of them, and :mod:`safetygap.scenarios` and the dask engine call them too.

:mod:`.options` (the inputs and options of a run), :mod:`.preflight` (every input checked
before the calls are read), :mod:`.travel` (the distance model), :mod:`.places` (population
and providers placed in areas), :mod:`.rows` (call features and row statuses),
:mod:`.areas` (coverage, boundary allocations, per-area indices), :mod:`.report` (quality,
summary, manifest).
"""
