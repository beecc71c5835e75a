"""The change a service needs cannot be written without rewriting more than network keys (an
anchor other keys alias, a multi-line flow list with comments). The service is left as it is
and the rest of the project is hardened.
"""

ID = "cannot-edit"
TITLE = "The service's change cannot be written into its file's shape"
SEVERITY = "warning"
FIX = "no"
