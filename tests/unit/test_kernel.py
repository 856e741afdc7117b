import uuid
from datetime import UTC, datetime

import pytest

from qianbao.kernel.clock import Clock, FrozenClock
from qianbao.kernel.errors import ErrorKind, NotFound
from qianbao.kernel.ids import uuid7
from qianbao.web.problems import domain_problem, edge_problem
from qianbao.web.routes.public import safe_next


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
