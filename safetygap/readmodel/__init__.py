"""The read model: what the maps, the pages and the API show, read from a workspace.

:mod:`safetygap.readmodel.directory`: the asset directory of a neighborhood or ward.
"""
