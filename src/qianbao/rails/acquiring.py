"""The card-acquirer interface (top-ups, B2). A provider takes a payment request, sends the user
to its hosted confirmation step, and later tells us the outcome by a signed callback; we credit
the wallet only on a verified callback — or on the provider's own answer to ``query_payment``
(a stuck top-up re-queried from the console), which goes through the same settling code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_

Outcome = Literal["succeeded", "declined", "insufficient_funds", "cancelled", "expired"]


@dataclass(frozen=True)
class CardPaymentRequest:
    reference: str  # ours (the top-up id); the provider echoes it in the callback
    amount: int  # minor units
    currency: str
    card_number: str  # whole: server to server only, never stored by us in clear
    holder_name: str
    description: str
    # Our own addresses are paths (``/wallet/topup/<id>``), never absolute URLs baked in when
    # the payment starts: a provider inside this deployment (the sandbox) keeps them relative
    # and resolves them when it uses them; an outside provider that needs absolute URLs joins
    # them to ``site`` (``absolute``).
    return_path: str  # where the hosted step sends the browser back
    notify_path: str  # where the provider posts the signed callback
    site: str  # our public URL if configured, else the origin the user's request came in on
    # The user's address as the app sees it (behind the configured proxy handling): WeChat Pay
    # H5 compares it with the browser that opens its page (scene_info.payer_client_ip).
    client_ip: str | None = None
    # Where an outside provider posts its notifications, when not ``site`` (a method's
    # ``notify_base_url``).
    notify_site: str | None = None

    def absolute(self, path: str) -> str:
        return f"{self.site.rstrip('/')}{path}"

    def notify_url(self) -> str:
        """The absolute address of ``notify_path`` for a provider outside this deployment."""
        return f"{(self.notify_site or self.site).rstrip('/')}{self.notify_path}"


@dataclass(frozen=True)
class CardPaymentCreated:
    provider_ref: str
    confirmation_url: str  # the hosted step: a path on this site (sandbox) or an absolute URL


@dataclass(frozen=True)
class CardPaymentEvent:
    provider_ref: str
    reference: str
    status: Outcome
    amount: int
    currency: str


class CallbackRejected(DomainError):
    code = "payments.callback_rejected"
    kind = ErrorKind.INVALID
    message = N_("The payment notification could not be verified.")


class CardAcquirer(Protocol):
    name: str

    async def create_payment(self, session: Any, request: CardPaymentRequest) -> CardPaymentCreated:
        """Register the payment with the provider; the user confirms it at the returned URL."""
        ...

    def parse_callback(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> CardPaymentEvent | None:
        """Verify the signature and freshness of a callback; raise CallbackRejected if not.
        ``None``: a genuine notification that changes nothing (an event we do not act on)."""
        ...

    async def query_payment(self, session: Any, provider_ref: str) -> CardPaymentEvent | None:
        """Ask the provider where the payment ``provider_ref`` stands now (a stuck top-up, from
        the console): the answer as the event its callback would carry, or ``None`` while it is
        still open (or unknown to the provider: never paid). An outside provider is asked over
        HTTP — the caller holds no pooled connection then; ``session`` gives the clock (and the
        sandbox its own table). ``ServiceUnavailable`` when the provider cannot answer."""
        ...
