"""The real-time rules are pure decisions (issue 15, D2): each default rule fires exactly at its
threshold, the most severe action wins, and a back-test replays stored signals."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qianbao.risk.rules import DEFAULT_RULES, Rule, Signals, backtest, evaluate, fires

RULES = {r.code: r for r in DEFAULT_RULES}
QUIET = Signals(channel="transfer", amount=100, exponent=2, history_count=50, hour_used=True)


def at(amount_yuan: int, **kw: object) -> Signals:
    return replace(QUIET, amount=amount_yuan * 100, **kw)  # type: ignore[arg-type]


def test_an_ordinary_transfer_is_allowed_with_no_reasons():
    assert evaluate(DEFAULT_RULES, at(100)).action == "allow"
    assert evaluate(DEFAULT_RULES, at(100)).reasons == ()


@pytest.mark.parametrize(
    ("code", "below", "at_threshold"),
    [
        ("new_device_large", at(1999, new_device=True), at(2000, new_device=True)),
        ("new_payee_large", at(4999, new_payee=True), at(5000, new_payee=True)),
        ("velocity", at(10, recent_out=8), at(10, recent_out=9)),
        ("unusual_amount", at(600, usual_amount=12_001), at(600, usual_amount=12_000)),
        ("unusual_hour", at(499, hour_used=False), at(500, hour_used=False)),
        (
            "recent_security_change",
            at(999, recent_change="password_reset"),
            at(1000, recent_change="password_reset"),
        ),
        ("failed_pins", at(1, pin_failures=2), at(1, pin_failures=3)),
    ],
)
def test_each_default_rule_fires_exactly_at_its_threshold(code, below, at_threshold):
    rule = RULES[code]
    assert not fires(rule, below)
    assert fires(rule, at_threshold)
    decision = evaluate(DEFAULT_RULES, at_threshold)
    assert decision.reasons == (code,) and decision.action == rule.action


def test_an_unusual_hour_needs_a_history_first():
    assert not fires(RULES["unusual_hour"], at(900, hour_used=False, history_count=19))
    assert fires(RULES["unusual_hour"], at(900, hour_used=False, history_count=20))


def test_the_most_severe_action_wins_and_every_reason_is_kept():
    s = at(6000, new_device=True, new_payee=True)
    decision = evaluate(DEFAULT_RULES, s)
    assert decision.action == "hold"
    assert decision.reasons == ("new_device_large", "new_payee_large")
    blocking = [
        replace(r, action="block") if r.code == "new_payee_large" else r for r in DEFAULT_RULES
    ]
    assert evaluate(blocking, s).action == "block"


def test_a_switched_off_rule_does_not_fire_and_thresholds_follow_the_currency():
    off = [replace(r, enabled=False) for r in DEFAULT_RULES]
    assert evaluate(off, at(9000, new_device=True)).action == "allow"
    usdt = Signals(channel="transfer", amount=2000 * 10**6, exponent=6, new_device=True)
    assert fires(RULES["new_device_large"], usdt)


def test_signals_survive_their_json_form():
    s = at(123, new_payee=True, usual_amount=500, recent_change="phone_changed")
    assert Signals.from_json({**s.to_json(), "unknown_later_field": 1}) == s


def test_a_backtest_counts_hits_what_they_would_become_and_the_disputed_ones():
    history = [
        (at(3000, new_device=True), True),
        (at(2500, new_device=True), False),
        (at(1000, new_device=True), False),  # below the amount
        (at(9000), False),
    ]
    candidate = Rule("new_device_large", False, "block", 2000, 0)
    rules = [
        replace(r, enabled=False) if r.code == "new_device_large" else r for r in DEFAULT_RULES
    ]
    result = backtest(rules, candidate, history)
    assert (result.looked_at, result.hits, result.disputed) == (4, 2, 1)
    assert result.by_action["block"] == 2
    assert result.before["allow"] == 2
