"""What people see: the Folium gap maps (``gap_map``, ``sites``), their look (``style``), the
index page and ward panel (``pages``), the printable report (``report``), the published
layers (``collections``, ``gpkg``, ``qgis_style``) and the JavaScript/CSS the pages load from
the app itself (``assets``). They draw what :mod:`safetygap.readmodel` reads.

Never imported by :mod:`safetygap.geo`.
"""
