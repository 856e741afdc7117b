"""Fees (B11): fixed + percentage of the amount, kept between a minimum and a maximum, computed
exactly in minor units (half-up rounding of the percentage part). Fees are posted as their own
ledger leg into the fee revenue account, never netted out of the amount."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from qianbao.kernel.money import Money


@dataclass(frozen=True)
class FeeSchedule:
    fixed: int
    percent: Decimal  # 0.1 means 0.1 %
    minimum: int
    maximum: int | None

    @classmethod
    def from_rule(cls, rule: Any, currency: str) -> FeeSchedule:
        def minor(value: str) -> int:
            return Money.parse(value, currency).minor

        return cls(
            fixed=minor(rule.fixed),
            percent=Decimal(rule.percent),
            minimum=minor(rule.minimum),
            maximum=minor(rule.maximum) if rule.maximum is not None else None,
        )

    @property
    def percent_text(self) -> str:
        """The percentage as people write it: 0.1, not 0.1000 (a NUMERIC column's scale)."""
        text = format(self.percent, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text

    def fee_for(self, amount: int) -> int:
        share = (Decimal(amount) * self.percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        fee = max(self.minimum, self.fixed + int(share))
        if self.maximum is not None:
            fee = min(fee, self.maximum)
        return fee
