"""The asset inventory of prevention and restoration (and response) services: building and
checking provider files.

- :mod:`~safetygap.inventory.serves`: providers that serve named areas or a polygon
  instead of a catchment, and the hooks coverage and accessibility call;
- :mod:`~safetygap.inventory.geocode`: an organisations list placed by address;
- :mod:`~safetygap.inventory.osm`: OpenStreetMap tags mapped to service types;
- :mod:`~safetygap.inventory.merge`: several provider files merged, duplicates resolved.

The inventory columns of a provider file (owner of their names, their validation, the stale
flags) are :mod:`safetygap.inputs.inventory_fields`, read with the provider file.

Pure computation: nothing here downloads or imports the web stack.
"""
