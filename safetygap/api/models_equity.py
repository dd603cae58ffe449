"""Response models of the equity routes (``GET /api/equity``, ``/api/equity/areas``),
derived from the records of what :mod:`safetygap.readmodel.equity` returns
(:mod:`safetygap.readmodel.records_equity`; ``equity.json`` of a workspace)."""

from __future__ import annotations

from safetygap.api.models import model_from_record
from safetygap.readmodel import records_equity as records

EquityInterval = model_from_record(records.EquityInterval)
EquityTotal = model_from_record(records.EquityTotal)
EquityMeanAccess = model_from_record(records.EquityMeanAccess)
EquityDisparity = model_from_record(records.EquityDisparity)
EquityGroup = model_from_record(records.EquityGroup)
EquityScope = model_from_record(records.EquityScope)
EquityLayout = model_from_record(records.EquityLayout)
EquitySettings = model_from_record(records.EquitySettings)
EquityReport = model_from_record(records.EquityReport)
"""GET /api/equity: :func:`safetygap.readmodel.equity.equity_report`."""
EquityAreaProperties = model_from_record(records.EquityAreaProperties)
EquityAreaFeature = model_from_record(records.EquityAreaFeature)
EquityLegendItem = model_from_record(records.EquityLegendItem)
EquityAreaCollection = model_from_record(records.EquityAreaCollection)
"""GET /api/equity/areas: :func:`safetygap.readmodel.equity.equity_layer`."""
