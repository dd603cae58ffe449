"""Why a computation given to the compute workers (:mod:`safetygap.api._compute`) did not
answer: the exceptions the error handlers (:mod:`safetygap.api._errors`) turn into 503."""

from __future__ import annotations

RETRY_AFTER_S = 2
"""Seconds a 503 of a busy server asks the client to wait (``Retry-After``)."""


class ComputeBusy(RuntimeError):
    """Too many computations waiting, a worker failed or took too long: 503 with
    ``Retry-After``."""


class OverBudget(RuntimeError):
    """A computation needed more memory than ``SAFETYGAP_MEMORY_BUDGET_MB`` allows above
    its worker's footprint: 503 (asking again does not help)."""
