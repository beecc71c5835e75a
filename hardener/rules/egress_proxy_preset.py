"""The service already sets ``HTTP_PROXY`` / ``HTTPS_PROXY`` (or ``ALL_PROXY``) to a proxy of its own:
the tool never overwrites it, and the service keeps its way out. Point it at the gateway by hand
(``http://egress-gateway:3128``) to route it.
"""

ID = "egress-proxy-preset"
TITLE = "A service sets a proxy already"
SEVERITY = "warning"
FIX = "no"
