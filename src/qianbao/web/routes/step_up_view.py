"""The pages' side of a step-up (D2): when the risk rules want a payment confirmed, the page sends
the SMS code that names the amount and the payee, and shows its field and — for a user with a
passkey — a "Confirm with passkey" button whose challenge carries the same amount and payee
(``wallet/_step_up.html`` and ``passkeys.js``)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request

from qianbao.identity import passkeys
from qianbao.identity.deps import Caller
from qianbao.kernel.errors import DomainError
from qianbao.kernel.i18n import N_
from qianbao.wallet.step_up import Proof
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.templating import locale_of

NOTICE = N_(
    "This payment needs one more check. We sent a code by SMS to the number ending in {last4}; "
    "the message names the amount and the payee. Enter it with your PIN, or confirm with your "
    "passkey if you have one."
)


def proof_of(form: dict[str, str]) -> Proof:
    """The step-up the user gave in a form: the SMS code, or the passkey's answer (JSON)."""
    return Proof.of(form.get("step_up_code", ""), form.get("step_up_passkey", "")[:20000])


async def ask(
    request: Request,
    caller: Caller,
    session: Any,
    send_code: Callable[[], Awaitable[Any]],
    *,
    options_url: str,
    body: dict[str, str],
) -> dict[str, Any]:
    """Send the code and say what the page shows: the template's ``step_up`` value."""
    locale = locale_of(request)
    problem = None
    try:
        await send_code()
    except DomainError as send_failed:  # a send limit: the code sent before still works
        problem = domain_problem(send_failed, locale)
    has_passkey = bool(await passkeys.list_passkeys(session, caller.user))
    return {
        "notice": gettext(locale, NOTICE).format(last4=caller.user.phone[-4:]),
        "problem": problem,
        "passkey": has_passkey,
        "options_url": options_url,
        "body": json.dumps(body),
    }


def kept(form: dict[str, str]) -> bool:
    """The form was already at the step-up (a wrong code or PIN keeps the fields)."""
    return form.get("step_up") == "1"
