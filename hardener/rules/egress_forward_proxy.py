"""A forward proxy of the stack's own (Squid, Tinyproxy, Privoxy; or any service that another
service names in ``HTTP_PROXY`` / ``HTTPS_PROXY``, such as Dify's ``ssrf_proxy``) sends its
clients' requests straight out and does not read the proxy variables itself: routing it through
the gateway would cut every request it forwards. It keeps its direct way out. To put it behind the
gateway, give it the gateway as its parent (Squid: ``cache_peer egress-gateway parent 3128 0
no-query default`` and ``never_direct allow all``) and run again.
"""

ID = "egress-forward-proxy"
TITLE = "A forward proxy of the stack keeps its direct way out"
SEVERITY = "warning"
FIX = "no"
