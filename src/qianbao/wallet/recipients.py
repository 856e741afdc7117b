"""Who receives a transfer, as the payer sees them: masked, never in full."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Recipient:
    user_id: uuid.UUID
    masked_name: str
    masked_phone: str

    @property
    def label(self) -> str:
        return payee_label(self.masked_name, self.masked_phone)


def payee_label(masked_name: str | None, masked_phone: str | None) -> str:
    """``张*丰 139****0000`` (what is known of the two), or ``—``."""
    return " ".join(p for p in (masked_name, masked_phone) if p) or "—"
