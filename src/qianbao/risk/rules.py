"""Real-time risk rules (D2) as pure decisions: given what is known about one money-out
operation (its ``Signals``) and the operators' rules, decide allow / step-up / hold / block and
say which rules fired. The wallet gathers the signals and applies the decision; nothing here
reads the database or moves money.

The same function judges a live transfer and back-tests a proposed rule on the signals stored
with the last 30 days' decisions, so a back-test says exactly what the rule would have done."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from qianbao.kernel.i18n import N_

# Ordered by severity: the decision is the most severe action among the rules that fire.
ACTIONS = ("allow", "step_up", "hold", "block")
SEVERITY = {a: i for i, a in enumerate(ACTIONS)}


@dataclass(frozen=True)
class Signals:
    """What the wallet knows about one money-out operation, from the user's own history."""

    channel: str  # transfer | payment | withdrawal
    amount: int  # minor units
    exponent: int  # the currency's decimals: thresholds are in major units
    new_device: bool = False  # this device was first seen < 72 h ago and is not the first
    new_payee: bool = False  # never paid this payee before
    recent_out: int = 0  # money-out operations in the velocity window, this one excluded
    usual_amount: int | None = None  # median of the last 50 money-out amounts (>= 5 of them)
    history_count: int = 0  # money-out operations looked at (the last 100)
    hour_used: bool = True  # one of them was at this hour of the day (China time, +-1 h)
    recent_change: str | None = None  # password reset, phone change or new device, < 72 h
    pin_failures: int = 0  # wrong PINs in a row before the right one

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Signals:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Rule:
    code: str
    enabled: bool
    action: str  # step_up | hold | block
    min_amount: int  # in the currency's major units: the rule fires only at or above it
    threshold: int  # the rule's own number (see THRESHOLDS); 0 where it has none


@dataclass(frozen=True)
class RiskDecision:
    action: str
    reasons: tuple[str, ...]  # the codes of the rules that fired, in the rules' order

    @property
    def allowed_at_once(self) -> bool:
        return self.action == "allow"


# What each rule's threshold means, for the console (None: the rule has no threshold).
THRESHOLDS: dict[str, str | None] = {
    "new_device_large": None,
    "new_payee_large": None,
    "velocity": N_("operations within 10 minutes, this one included"),
    "unusual_amount": N_("times the user's usual amount"),
    "unusual_hour": N_("earlier operations needed before an hour counts as unusual"),
    "recent_security_change": None,
    "failed_pins": N_("wrong PINs in a row before this one"),
}

TITLES = {
    "new_device_large": N_("A large amount from a new device"),
    "new_payee_large": N_("A large amount to someone never paid before"),
    "velocity": N_("Many operations in a short time"),
    "unusual_amount": N_("Far above the user's usual amount"),
    "unusual_hour": N_("At an hour the user never uses"),
    "recent_security_change": N_("Password reset, phone change or new device in the last 72 hours"),
    "failed_pins": N_("Several wrong PINs before this one"),
}

# The rules a new installation starts with (migration 0019 writes them; operators change them
# in the console). Amounts in major units of the operation's currency.
DEFAULT_RULES = (
    Rule("new_device_large", True, "hold", 2_000, 0),
    Rule("new_payee_large", True, "step_up", 5_000, 0),
    Rule("velocity", True, "step_up", 0, 10),
    Rule("unusual_amount", True, "step_up", 500, 5),
    Rule("unusual_hour", True, "step_up", 500, 20),
    Rule("recent_security_change", True, "hold", 1_000, 0),
    Rule("failed_pins", True, "step_up", 0, 3),
)
RULE_CODES = tuple(r.code for r in DEFAULT_RULES)


def fires(rule: Rule, s: Signals) -> bool:
    """Whether ``rule`` fires on ``s`` (enabled or not: the back-test asks about off rules)."""
    if s.amount < rule.min_amount * 10**s.exponent:
        return False
    code, n = rule.code, rule.threshold
    if code == "new_device_large":
        return s.new_device
    if code == "new_payee_large":
        return s.new_payee
    if code == "velocity":
        return n > 0 and s.recent_out + 1 >= n
    if code == "unusual_amount":
        return n > 0 and s.usual_amount is not None and s.amount >= n * s.usual_amount
    if code == "unusual_hour":
        return s.history_count >= max(n, 1) and not s.hour_used
    if code == "recent_security_change":
        return s.recent_change is not None
    if code == "failed_pins":
        return n > 0 and s.pin_failures >= n
    return False


def evaluate(rules: Iterable[Rule], s: Signals) -> RiskDecision:
    fired = [r for r in rules if r.enabled and fires(r, s)]
    if not fired:
        return RiskDecision("allow", ())
    action = max((r.action for r in fired), key=SEVERITY.__getitem__)
    return RiskDecision(action, tuple(r.code for r in fired))


@dataclass(frozen=True)
class Backtest:
    looked_at: int  # decisions in the window
    hits: int  # operations the rule would have fired on
    by_action: dict[str, int]  # what the whole rule set would have decided for them
    disputed: int  # of the hits, how many the user later disputed (said "No" or claimed)
    before: dict[str, int]  # what the rules in force decided for the same operations


def backtest(
    rules: list[Rule], candidate: Rule, history: Iterable[tuple[Signals, bool]]
) -> Backtest:
    """What ``candidate`` (switched on, in place of the rule with its code) would have done on
    ``history`` = (signals, later disputed) of past operations."""
    trial = [replace(candidate, enabled=True) if r.code == candidate.code else r for r in rules]
    looked = hits = disputed = 0
    by_action: dict[str, int] = {a: 0 for a in ACTIONS}
    before: dict[str, int] = {a: 0 for a in ACTIONS}
    for signals, was_disputed in history:
        looked += 1
        if not fires(candidate, signals):
            continue
        hits += 1
        disputed += was_disputed
        by_action[evaluate(trial, signals).action] += 1
        before[evaluate(rules, signals).action] += 1
    return Backtest(looked, hits, by_action, disputed, before)
