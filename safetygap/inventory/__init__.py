"""The asset inventory of prevention and restoration (and response) services.

- :mod:`~safetygap.inventory.fields`: the inventory columns of a provider file (owner of
  their names), their validation and the stale flags;
- :mod:`~safetygap.inventory.serves`: providers that serve named areas or a polygon
  instead of a catchment, and the hooks coverage and accessibility call.

Pure computation: nothing here downloads or imports the web stack.
"""
