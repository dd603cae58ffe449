"""The web app: a thin FastAPI adapter that serves a workspace (read-only).

``safetygap.api.app.create_app(workspace)`` builds it and
``safetygap.api.app.serve_workspace(workspace)`` runs it; routes in ``routes_api`` (JSON /
GeoJSON) and ``routes_pages`` (HTML), response models in ``models``.
"""
