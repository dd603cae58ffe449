"""Readers that turn user files into canonical frames, validating at the boundary."""

from safetygap.inputs.calls import (
    CallsInput,
    CallsSample,
    calls_header,
    calls_sample,
    read_calls,
)
from safetygap.inputs.columns import ColumnMap, load_preset, preset_names
from safetygap.inputs.population import PopulationInput, read_population
from safetygap.inputs.providers import ProvidersInput, providers_from_frame, read_providers
from safetygap.inputs.records import RecordColumns, RecordsInput, read_records

__all__ = [
    "CallsInput",
    "CallsSample",
    "ColumnMap",
    "PopulationInput",
    "ProvidersInput",
    "RecordColumns",
    "RecordsInput",
    "calls_header",
    "calls_sample",
    "load_preset",
    "preset_names",
    "providers_from_frame",
    "read_calls",
    "read_population",
    "read_providers",
    "read_records",
]
