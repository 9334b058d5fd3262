"""`python -m harmony_agent.sandbox`: prints which isolation layers work on this host.

Exits with status 0 when every layer works, 1 when isolation is degraded.
"""

from __future__ import annotations

import sys

from harmony_agent.sandbox._isolation import check_isolation


def main() -> int:
    """Prints the isolation report; returns the exit status."""
    report = check_isolation()
    print("\n".join(report.lines()))
    return 0 if report.complete else 1


if __name__ == "__main__":
    sys.exit(main())
