"""``compose-harden probe``: the proof on a real Docker engine.

The project is rendered by Compose (:mod:`render`), every service replaced by a stand-in that
listens on the service's ports (:mod:`standin`), started under a unique project name, measured
from inside every container and from the host (:mod:`measure`), against listeners of the probe's
own only (:mod:`servers`, :mod:`outside`), and always torn down (:mod:`session`). ``--compare``
probes the project and compose-harden's proposal for it (:mod:`compare`); :mod:`format` prints
either as text, JSON or Markdown; :mod:`cli` is the command.
"""
