"""The exit status: what fails a run (``--fail-on``).

=========== ============================ ======================= ==================== ====
--fail-on   a file could not be processed a finding needs a human changes (pending or  else
                                                                 written)
=========== ============================ ======================= ==================== ====
never       0                            0                       0                    0
error       2                            0                       0                    0
finding     2                            1                       0                    0
change      2                            1                       1                    0
=========== ============================ ======================= ==================== ====

The default is ``change`` for ``--diff`` and ``--check`` (pending changes fail) and ``finding``
for ``--write`` (written fixes do not fail; findings that need a human do). A bot that runs
``--write`` and opens a pull request asks for ``error``: exit 0 when the fixes were written and
only findings that need a human remain. Acknowledged findings never fail a run. Usage errors
(bad options, a bad configuration file) always exit 2.
"""

from __future__ import annotations

from hardener.record import record

FAIL_ON = ("error", "finding", "change", "never")


@record(frozen=True)
class Outcome:
    """What happened to one project."""

    error: bool = False
    findings: int = 0  # findings that need a human (not fixed, not acknowledged)
    changes: bool = False  # fixes pending (--diff, --check) or written (--write)


def default_fail_on(mode: str) -> str:
    return "finding" if mode == "write" else "change"


def exit_status(outcomes: list[Outcome], fail_on: str) -> int:
    if fail_on == "never":
        return 0
    if any(o.error for o in outcomes):
        return 2
    if fail_on == "error":
        return 0
    if any(o.findings for o in outcomes):
        return 1
    if fail_on == "finding":
        return 0
    return 1 if any(o.changes for o in outcomes) else 0
