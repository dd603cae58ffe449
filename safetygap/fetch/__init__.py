"""Downloading a city's open data (ArcGIS REST) into GeoParquet, resumably."""

from safetygap.fetch.arcgis import ArcGISClient, FetchError, RetryPolicy
from safetygap.fetch.minneapolis import fetch_minneapolis, parse_years

__all__ = ["ArcGISClient", "FetchError", "RetryPolicy", "fetch_minneapolis", "parse_years"]
