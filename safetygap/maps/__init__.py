"""What people see: the read side of a workspace (``data.WorkspaceView``), the Folium gap
maps (``gap_map``), the index page and ward panel (``pages``), the printable report
(``report``) and the JavaScript/CSS the pages load from the app itself (``assets``).

Never imported by :mod:`safetygap.geo`.
"""
