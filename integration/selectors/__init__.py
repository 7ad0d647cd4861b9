"""Read queries shared by the API, the admin and the commands, one module per entity; ``attention``
holds what the ops console shows as needing a person."""
