"""Step-up for a money-out operation the risk rules want confirmed (D2): a passkey whose WebAuthn
challenge carries the amount and the payee, or an SMS code whose message names them — either
works only for that amount to that payee (dynamic linking, as PSD2's strong customer
authentication requires). Transfers, shop payments and the pages and API in front of them share
this one module."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from qianbao.identity import otp, passkeys
from qianbao.identity.context import IdentityContext
from qianbao.identity.models import User
from qianbao.kernel.money import Money
from qianbao.wallet import risk_checks
from qianbao.wallet.risk_checks import StepUpRequired

PURPOSE = "pay_step_up"


@dataclass(frozen=True)
class Proof:
    """What the user gave to confirm: the SMS code, or a passkey's answer to a step-up
    challenge (its id and the credential JSON)."""

    code: str | None = None
    passkey_challenge: str | None = None
    passkey_credential: Any = None

    @property
    def given(self) -> bool:
        return bool(self.code) or bool(self.passkey_challenge and self.passkey_credential)

    @classmethod
    def of(cls, code: str | None = None, passkey: Any = None) -> Proof:
        """From a form or an API body: ``passkey`` is ``{"challenge_id", "credential"}`` (a dict,
        or its JSON from a page's hidden field)."""
        if isinstance(passkey, str):
            try:
                passkey = json.loads(passkey) if passkey.strip() else None
            except ValueError:  # garbled: a failed passkey, not a missing step-up
                passkey = {"challenge_id": "-", "credential": {"garbled": True}}
        challenge = credential = None
        if isinstance(passkey, dict):
            challenge = str(passkey.get("challenge_id") or "-")[:64]
            credential = passkey.get("credential") or {}
        return cls((code or "").strip() or None, challenge, credential)


NONE = Proof()


def bound_to(operation: str, payee_id: uuid.UUID, amount: Money) -> str:
    """What a step-up confirms: this operation, this amount, this payee and nothing else."""
    return f"{operation}|{payee_id}|{amount.minor}|{amount.currency}"


async def send_code(
    session: Any,
    ctx: IdentityContext,
    user: User,
    *,
    bound: str,
    amount: Money,
    payee_label: str,
    ip: str | None,
) -> None:
    """The SMS: it names the amount and the payee, and its code works only for them."""
    await otp.send_code(
        session,
        ctx,
        destination=user.phone,
        purpose=PURPOSE,
        ip=ip,
        locale=user.locale,
        params={"amount": amount.text(), "payee": payee_label},
        context=bound,
    )


async def passkey_options(
    session: Any, ctx: IdentityContext, user: User, *, bound: str
) -> dict[str, Any]:
    return await passkeys.step_up_options(session, ctx, user, bound=bound)


async def check(session: Any, ctx: IdentityContext, user: User, proof: Proof, *, bound: str) -> str:
    """Pass the step-up or raise; returns how it was passed (``passkey`` or ``sms``)."""
    if not proof.given:
        raise StepUpRequired()
    if proof.passkey_challenge and proof.passkey_credential:
        await passkeys.verify_step_up(
            session,
            ctx,
            user,
            challenge_id=proof.passkey_challenge,
            credential=proof.passkey_credential,
            bound=bound,
        )
        return "passkey"
    await otp.check_code(
        session, ctx, destination=user.phone, purpose=PURPOSE, code=proof.code, context=bound
    )
    return "sms"


async def required(
    session: Any,
    ctx: IdentityContext,
    user: User,
    decision: dict[str, Any],
    proof: Proof | None,
    *,
    bound: str,
) -> str:
    """Apply a decision that asks for more than "allow" (the caller has dealt with a hold it can
    keep): a block refuses; otherwise the step-up must be passed. A refusal's decision row
    (``decision``: ``risk_checks.decision_values``) is kept although the request rolls back.
    Returns the decision's outcome."""
    if decision["action"] == "block":
        await risk_checks.log_refusal(ctx, decision)
        raise risk_checks.Blocked()
    if proof is None or not proof.given:
        await risk_checks.log_refusal(ctx, decision)
        raise StepUpRequired()
    await check(session, ctx, user, proof, bound=bound)
    return "passed"
