"""A service reaches another (the evidence is given) but neither side's networks can be edited
to keep them on a shared network. Nothing is cut silently: this finding names the pair.
"""

ID = "dependency-cut"
TITLE = "A dependency could not be kept"
SEVERITY = "error"
FIX = "no"
