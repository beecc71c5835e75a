"""The routes of a reverse proxy could not be read: its configuration is baked into its image,
configured in a dashboard, or read from a path the project does not provide. Without its routes
nothing shows which services it does not need, so it keeps its reach to every service it could
route to (application services, other edge services, object stores) and is not confined to the
front network. Mount its configuration from the project, or list its upstreams with
``x-compose-harden: {talks-to: [...]}`` on the service.
"""

ID = "proxy-routing-unknown"
TITLE = "A reverse proxy's routes could not be read"
SEVERITY = "note"
FIX = "no"
