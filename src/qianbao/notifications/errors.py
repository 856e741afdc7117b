"""Errors of the messaging channels, and masking of destinations for logs.

``DeliveryFailed`` says whether trying again may help (``retryable``: network trouble, rate
limits, provider outages) or not (a rejected number, a refused address, bad credentials). Its text
names the provider's error code and status only: never the message body, a one-time code or a
credential.
"""

from __future__ import annotations


class DeliveryFailed(Exception):
    """A message was not handed over to its provider."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        provider_code: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.provider_code = provider_code
        self.http_status = http_status

    def __str__(self) -> str:
        kind = "retryable" if self.retryable else "permanent"
        return f"{self.reason} ({kind})"


def mask_destination(to: str) -> str:
    """A destination fit for logs: ``+8613800138000`` -> ``+86138****8000``,
    ``li.wei@example.com`` -> ``l***@example.com``."""
    to = to.strip()
    if "@" in to:
        local, _, domain = to.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if len(to) >= 10:
        return f"{to[:6]}****{to[-4:]}"
    if len(to) > 4:
        return f"{to[:2]}****{to[-2:]}"
    return "****"
