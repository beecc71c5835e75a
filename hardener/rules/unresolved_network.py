"""A network name or ``network_mode`` uses a variable the tool cannot resolve (``networks:
["${NET}"]`` with no default and nothing in ``.env``). Compose would take its value from the shell
of whoever runs it, so the tool cannot know which network the service is on: the service is left
as it is, and nothing is cut around it. Give the variable a default (``${NET:-back}``) or set it in
the project's ``.env``.
"""

ID = "unresolved-network"
TITLE = "A network key uses a variable that cannot be resolved"
SEVERITY = "warning"
FIX = "no"
KEY = "networks"  # where a finding points: this key of the service (else the service itself)
