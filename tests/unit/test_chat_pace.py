"""The WebSocket frame pace: a burst passes at once, then the rate, never more."""

from __future__ import annotations

import pytest

from qianbao.web.routes import chat_ws


def test_burst_then_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(chat_ws.time, "monotonic", lambda: now[0])
    pace = chat_ws.Pace(rate=5.0, burst=20)
    assert [pace.allow() for _ in range(25)] == [True] * 20 + [False] * 5
    now[0] += 1.0  # one second: five more
    assert [pace.allow() for _ in range(6)] == [True] * 5 + [False]
    now[0] += 3600.0  # a long pause refills only up to the burst
    assert sum(pace.allow() for _ in range(30)) == 20
