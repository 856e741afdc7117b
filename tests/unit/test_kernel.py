import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from qianbao.kernel.clock import (
    LOCAL_TZ,
    Clock,
    FrozenClock,
    TestClock,
    clock_of,
    system_clock,
    with_clock,
)
from qianbao.kernel.errors import ErrorKind, NotFound
from qianbao.kernel.ids import uuid7
from qianbao.web.problems import domain_problem, edge_problem
from qianbao.web.routes.public import safe_next

ROOT = Path(__file__).resolve().parents[2]


def test_uuid7_is_version_7_and_time_ordered():
    ids = [uuid7() for _ in range(200)]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in ids)
    stamps = [u.int >> 80 for u in ids]
    assert stamps == sorted(stamps)
    assert len(set(ids)) == 200


def test_frozen_clock_moves_only_when_told():
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
    clock.advance(hours=2)
    assert clock.now().hour == 2
    with pytest.raises(ValueError):
        Clock(lambda: datetime(2026, 1, 1)).now()  # noqa: DTZ001 - naive on purpose


def test_test_clock_freezes_travels_and_reports_china_days():
    clock = TestClock()
    clock.freeze(datetime(2026, 10, 31, 23, 59, tzinfo=LOCAL_TZ))
    assert clock.now() == datetime(2026, 10, 31, 15, 59, tzinfo=UTC)  # always UTC
    assert clock.now().tzinfo is UTC
    assert clock.today() == date(2026, 10, 31)  # the users' day, not UTC's
    clock.advance(minutes=2)
    assert clock.today() == date(2026, 11, 1) and clock.now().day == 31
    assert clock.timestamp() == int(datetime(2026, 10, 31, 16, 1, tzinfo=UTC).timestamp())
    clock.travel(datetime(2030, 1, 1, tzinfo=UTC))
    first = clock.now()
    assert first >= datetime(2030, 1, 1, tzinfo=UTC)
    assert clock.now() - first < timedelta(minutes=1)  # it runs again
    clock.reset()
    assert abs(clock.now() - system_clock.now()) < timedelta(minutes=1)


def test_a_session_runs_on_the_clock_put_on_it():
    class Session:
        info: dict = {}  # noqa: RUF012

    s = Session()
    assert clock_of(s) is system_clock
    frozen = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock_of(with_clock(s, frozen)) is frozen


@pytest.mark.parametrize(
    "line",
    [
        "from datetime import UTC, datetime\nx = datetime.now(UTC)\n",
        "import datetime\nx = datetime.date.today()\n",
        "import time\nx = time.time()\n",
        "from sqlalchemy import func\nx = func.now()\n",
    ],
)
def test_make_lint_refuses_a_direct_clock_in_domain_code(line: str):
    """ruff's banned-API rule (pyproject.toml) stops a new direct read of the machine's clock."""
    source = line.encode().decode("unicode_escape")
    found = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "TID251", "--no-cache",
         "--stdin-filename", "src/qianbao/wallet/new_use_case.py", "-"],
        input=source, capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert found.returncode == 1 and "TID251" in found.stdout, found.stdout + found.stderr
    allowed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "TID251", "--no-cache",
         "--stdin-filename", "src/qianbao/kernel/clock.py", "-"],
        input=source, capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stdout


def test_problems_are_localised_and_carry_a_stable_code():
    p = domain_problem(NotFound(), "zh_CN")
    assert (p.status, p.code, p.title) == (404, "not_found", "找不到您要的内容。")
    body = edge_problem("request.too_large", "en").to_dict(instance="/x", request_id="r1")
    assert body == {
        "type": "/problems/request.too_large",
        "title": "What you sent is too large.",
        "status": 413,
        "code": "request.too_large",
        "instance": "/x",
        "request_id": "r1",
    }
    assert NotFound.kind is ErrorKind.NOT_FOUND


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/wallet?x=1", "/wallet?x=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_language_switch_never_redirects_off_site(value, expected):
    assert safe_next(value) == expected


def test_a_database_that_went_away_is_unavailable_not_a_server_error():
    """make chaos: PostgreSQL killed mid-request answered 500; the transaction did not commit,
    so it is 503 with Retry-After (retry with the same key), like a pool timeout."""
    import asyncpg
    from sqlalchemy.exc import DBAPIError

    from qianbao.kernel.db import is_overload

    for lost in (
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        ConnectionRefusedError(111, "Connect call failed"),
    ):
        assert is_overload(lost), lost
        wrapped = DBAPIError("SELECT 1", {}, lost)  # as SQLAlchemy raises it
        assert is_overload(wrapped), wrapped
    assert not is_overload(ValueError("a bug"))
    assert not is_overload(DBAPIError("SELECT 1", {}, asyncpg.exceptions.UniqueViolationError()))
