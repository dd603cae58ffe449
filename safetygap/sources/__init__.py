"""Builders that turn a city's own published files into safetygap inputs."""
