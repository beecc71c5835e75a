"""Node.js's built-in ``fetch`` ignores ``HTTP_PROXY`` / ``HTTPS_PROXY`` unless ``NODE_USE_ENV_PROXY=1``
is set (Node 24 and later): the tool sets it with the other variables. Older Node versions and
HTTP clients with their own settings (axios, got) need their proxy configured as well.
"""

ID = "egress-node-env-proxy"
TITLE = "A Node.js service reads the proxy variables only when told to"
SEVERITY = "note"
FIX = "no"
