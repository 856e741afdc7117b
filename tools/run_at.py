"""Run a command as if the machine's clock said another time: ``run_at.py WHEN -- CMD ...``.

``make test TEST_AT="2026-10-03 23:30"`` runs the whole suite this way, to prove that no test and
no code path depends on the hour, the weekday, a public holiday or a month's end. ``WHEN`` is an
ISO date and time, China time unless it carries its own offset (``2026-10-03T15:30:00+00:00``).
An empty ``WHEN`` runs the command as it is.

It uses libfaketime (Debian's ``faketime`` package) with a fixed offset from the real clock, so
every process the command starts (the embedded PostgreSQL, chromium) agrees on the shifted time
and time still runs. Monotonic clocks are shifted too: Python's ``time.sleep`` fails under
libfaketime 0.9.10 when they are not.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def parse(when: str) -> datetime:
    moment = datetime.fromisoformat(when.strip().replace(" ", "T", 1))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CHINA)


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    split = argv.index("--")
    when, command = " ".join(argv[:split]).strip(), argv[split + 1 :]
    if not command:
        print("run_at.py: no command given", file=sys.stderr)
        return 2
    if not when:
        os.execvp(command[0], command)  # noqa: S606 - becomes the command itself, no shell
    faketime = shutil.which("faketime")
    if faketime is None:
        print(
            "run_at.py: TEST_AT needs libfaketime: apt-get install faketime "
            "(CI installs it in .ci/run)",
            file=sys.stderr,
        )
        return 2
    target = parse(when)
    offset = int(target.timestamp() - time.time())  # noqa: TID251 - the real clock, on purpose
    env = dict(os.environ)
    env["TEST_AT"] = target.isoformat()
    print(
        f"run_at.py: the clock says {target.astimezone(CHINA):%Y-%m-%d %H:%M %Z} (China time), "
        f"{offset:+d} s from the real one",
        flush=True,
    )
    os.execvpe(faketime, [faketime, "-f", f"{offset:+d}", *command], env)  # noqa: S606 - no shell
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
