"""Pydantic models of the write routes (uploads and re-runs) and their status routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DatasetKind = Literal["calls", "providers", "neighborhoods", "wards", "population",
                      "diversion_rules", "reports"]


class DatasetInfo(BaseModel):
    """One stored upload."""

    id: str = Field(description="dataset id (server-chosen)")
    kind: DatasetKind
    file_name: str = Field(description="the client's file name, sanitised (metadata only)")
    stored_as: str = Field(description="file name in the server's data directory")
    bytes: int = Field(description="size in bytes")
    sha256: str
    uploaded: str = Field(description="when (UTC, ISO 8601)")
    rows: int = Field(description="rows (features) read from the file; for a diversion "
                                  "rule set, its rules")
    warnings: list[str] = Field(description="what reading repaired or noticed")


class DatasetList(BaseModel):
    datasets: list[DatasetInfo] = Field(description="stored uploads, oldest first")
    latest: dict[str, str] = Field(description="per kind, the id of the newest upload (what "
                                               "the next re-run uses)")


class AnalysisRequest(BaseModel):
    """What a re-run uses; every kind not named uses its newest upload, else the file of
    the served analysis."""

    datasets: dict[DatasetKind, str] = Field(
        default_factory=dict, description="kind -> dataset id (from POST /api/datasets)")
    use_uploads: bool = Field(True, description="false: ignore uploads not named in "
                                                "datasets (re-run the served inputs)")


class AnalysisJob(BaseModel):
    """A re-run and its state."""

    id: str
    status: Literal["running", "succeeded", "failed"]
    inputs: dict[str, str] = Field(description="kind -> dataset id of the uploads used")
    created: str
    finished: str | None
    version: str | None = Field(description="the version now active (succeeded only)")
    progress: str = Field(description="the last progress line of the analysis")
    message: str = Field(description="the outcome; for a failure, the error (never a "
                                     "traceback)")
    error_id: str | None = Field(None, description="a failure's id in the server log, "
                                                   "which holds the details")
