"""The JVM does not read ``HTTP_PROXY`` / ``HTTPS_PROXY``: routing a Java service through the gateway
with the variables alone would cut its outbound traffic. It keeps its direct way out; to route it,
set ``JAVA_TOOL_OPTIONS=-Dhttp.proxyHost=egress-gateway -Dhttp.proxyPort=3128
-Dhttps.proxyHost=egress-gateway -Dhttps.proxyPort=3128 -Dhttp.nonProxyHosts=...`` and run again.
"""

ID = "egress-java-proxy"
TITLE = "A JVM service ignores the proxy variables"
SEVERITY = "warning"
FIX = "no"
