"""The egress gateway is an HTTP(S) forward proxy. A service whose external endpoints are not HTTP --
SMTP, an external PostgreSQL, MySQL or Redis, AMQP, MQTT, LDAP, a tunnel agent -- cannot go
through it, so it keeps its direct way out. The finding names the endpoint that was found.
"""

ID = "egress-non-http"
TITLE = "A service with non-HTTP outbound traffic keeps a direct way out"
SEVERITY = "warning"
FIX = "no"
