"""The rest of issue 15: a step-up by passkey whose WebAuthn challenge carries the amount and the
payee; the real-time rules on shop payments (checkout, shop QR, payment code) and withdrawals;
screenshots with a claim (checked, kept with the case, copied to its ticket); and the agents'
actions from the customer's page — a case opened for the customer, the counterparty's money
released and held again, each in the audit log."""

from __future__ import annotations

import base64
import json
import struct
from hashlib import sha256

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from soft_webauthn import SoftWebauthnDevice
from sqlalchemy import select

from qianbao.disputes.models import Case, CaseFile
from qianbao.risk.models import DecisionRow
from qianbao.support.console.models import AuditEntry
from qianbao.support.tickets.models import Ticket, TicketAttachment
from qianbao.wallet.models import Withdrawal
from tests.integration.test_console import csrf, staff_member
from tests.integration.test_disputes import _claim, _sent
from tests.integration.test_identity_security import _credential_json, _options_for_soft_device
from tests.integration.test_risk_rules import _decisions, _send, _set_rule
from tests.support.identity import bearer, deliver, e164, last_code, sms_messages
from tests.support.merchants import make_merchant
from tests.support.wallet import CARD_OK, PIN, balance, bind_card, key, ready_user, withdraw

ORIGIN = "http://testserver"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class VerifyingDevice(SoftWebauthnDevice):
    """soft-webauthn's authenticator, answering with user verification (a fingerprint or face
    check), which a step-up requires."""

    def get(self, options, origin):
        self.sign_count += 1
        client_data = json.dumps(
            {
                "type": "webauthn.get",
                "challenge": base64.urlsafe_b64encode(options["publicKey"]["challenge"])
                .decode()
                .rstrip("="),
                "origin": origin,
            }
        ).encode()
        auth_data = (
            sha256(self.rp_id.encode()).digest() + b"\x05" + struct.pack(">I", self.sign_count)
        )
        signature = self.private_key.sign(
            auth_data + sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": base64.urlsafe_b64encode(self.credential_id),
            "rawId": self.credential_id,
            "response": {
                "authenticatorData": auth_data,
                "clientDataJSON": client_data,
                "signature": signature,
                "userHandle": self.user_handle,
            },
            "type": "public-key",
        }


async def _passkey(client: httpx.AsyncClient, app: FastAPI, token: str) -> VerifyingDevice:
    app.state.settings.identity.webauthn_rp_id = "testserver"
    app.state.settings.identity.webauthn_origin = ORIGIN
    device = VerifyingDevice()
    opts = (await client.post("/api/v1/me/passkeys/options", headers=bearer(token))).json()
    created = device.create(_options_for_soft_device(opts["publicKey"]), ORIGIN)
    r = await client.post(
        "/api/v1/me/passkeys",
        json={"challenge_id": opts["challenge_id"], "credential": _credential_json(created)},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    return device


async def _sign(client, token, device, url: str, body: dict) -> dict:
    r = await client.post(url, json=body, headers=bearer(token))
    assert r.status_code == 200, r.text
    opts = r.json()
    assertion = device.get(_options_for_soft_device(opts["publicKey"]), ORIGIN)
    return {"challenge_id": opts["challenge_id"], "credential": _credential_json(assertion)}


async def test_a_passkey_step_up_confirms_exactly_the_amount_and_payee_it_signed(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    alice_phone, alice, alice_id = await ready_user(client, app, minor=2_000_000, tier=1)
    bob_phone, bob, _ = await ready_user(client, app)
    device = await _passkey(client, app, alice)
    same = key()
    r = await _send(client, alice, bob_phone, "6000.00", headers=same)
    assert r.status_code == 403 and r.json()["code"] == "risk.step_up_required", r.text
    url = "/api/v1/wallet/transfers/step-up-passkey"
    # Signed for 6000.00: it does not confirm 6000.01, and it is used up by trying.
    proof = await _sign(
        client, alice, device, url, {"to": bob_phone, "amount": "6000.00", "currency": "CNY"}
    )
    r = await _send(client, alice, bob_phone, "6000.01", step_up_passkey=proof)
    assert r.status_code == 401 and r.json()["code"] == "identity.passkey_failed", r.text
    # Without user verification (a tap, no fingerprint) it is refused.
    plain = SoftWebauthnDevice()
    plain.credential_id, plain.private_key = device.credential_id, device.private_key
    plain.rp_id, plain.user_handle, plain.sign_count = "testserver", device.user_handle, 100
    opts = (
        await client.post(
            url, json={"to": bob_phone, "amount": "6000.00", "currency": "CNY"},
            headers=bearer(alice),
        )
    ).json()  # fmt: skip
    weak = {
        "challenge_id": opts["challenge_id"],
        "credential": _credential_json(
            plain.get(_options_for_soft_device(opts["publicKey"]), ORIGIN)
        ),
    }
    r = await _send(client, alice, bob_phone, "6000.00", headers=same, step_up_passkey=weak)
    assert r.json()["code"] == "identity.passkey_failed", r.text
    assert await balance(client, alice) == ("20000.00", "0.00")
    proof = await _sign(
        client, alice, device, url, {"to": bob_phone, "amount": "6000.00", "currency": "CNY"}
    )
    r = await _send(client, alice, bob_phone, "6000.00", headers=same, step_up_passkey=proof)
    assert r.status_code == 201, r.text
    assert await balance(client, bob) == ("6000.00", "0.00")
    assert (await _decisions(app, alice_id))[-1].outcome == "passed"
    # A user without a passkey gets no options (the SMS code is their way).
    r = await client.post(
        url, json={"to": alice_phone, "amount": "1.00", "currency": "CNY"}, headers=bearer(bob)
    )
    assert r.json()["code"] == "identity.passkey_failed"


async def _shop_pay(client, token, shop, amount: str, headers=None, **extra) -> httpx.Response:
    body = {"amount": amount, "currency": "CNY", "pin": PIN, **extra}
    return await client.post(
        f"/api/v1/pay/shops/{shop.code}/pay",
        json=body,
        headers={**bearer(token), **(headers or key())},
    )


async def test_shop_payments_are_judged_a_hold_asks_for_a_step_up_and_a_block_refuses(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    phone, alice, alice_id = await ready_user(client, app, minor=100_000)
    shop = await make_merchant(app)
    # Every operation fires (threshold 1): a hold, which a shop cannot wait for.
    await _set_rule(app, "velocity", action="hold", threshold=1)
    same = key()
    r = await _shop_pay(client, alice, shop, "88.00", headers=same)
    assert r.status_code == 403 and r.json()["code"] == "risk.step_up_required", r.text
    assert await balance(client, alice) == ("1000.00", "0.00")
    r = await client.post(
        "/api/v1/pay/step-up-code",
        json={"shop": shop.code, "amount": "88.00", "currency": "CNY"},
        headers=bearer(alice),
    )
    assert r.status_code == 202, r.text
    code = await last_code(app, e164(phone))
    text = sms_messages(app, e164(phone))[-1]
    assert "88.00 CNY" in text and "测试咖啡" in text
    r = await _shop_pay(client, alice, shop, "88.01", step_up_code=code)
    assert r.status_code == 422 and r.json()["code"] == "identity.code_invalid", r.text
    r = await client.post(
        "/api/v1/pay/step-up-code",
        json={"shop": shop.code, "amount": "88.00", "currency": "CNY"},
        headers=bearer(alice),
    )
    code = await last_code(app, e164(phone))
    r = await _shop_pay(client, alice, shop, "88.00", headers=same, step_up_code=code)
    assert r.status_code == 201, r.text
    assert await balance(client, alice) == ("912.00", "0.00")
    log = [(d.channel, d.action, d.outcome) for d in await _decisions(app, alice_id)]
    assert log[0] == ("payment", "hold", None) and log[-1] == ("payment", "hold", "passed")
    async with app.state.db.session() as s:
        last = (
            await s.execute(select(DecisionRow).order_by(DecisionRow.created_at.desc()).limit(1))
        ).scalar_one()
        assert last.transaction_id is not None and str(last.counterparty_id) == str(shop.id)
    await _set_rule(app, "velocity", action="block")
    r = await _shop_pay(client, alice, shop, "1.00")
    assert r.status_code == 403 and r.json()["code"] == "risk.blocked"
    assert await balance(client, alice) == ("912.00", "0.00")


async def test_a_till_charge_the_rules_question_waits_for_the_customer_on_the_phone(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    phone, alice, _ = await ready_user(client, app, minor=100_000)
    shop = await make_merchant(app)
    code = (await client.post("/api/v1/pay/payment-codes", headers=bearer(alice))).json()["code"]
    await _set_rule(app, "velocity", action="step_up", threshold=1)
    r = await client.post(
        "/api/v1/merchant/payment-code-payments",
        json={"code": code, "amount": "5.00", "currency": "CNY"},
        headers={**shop.headers, **key()},
    )
    assert r.status_code == 201, r.text
    payment = r.json()
    assert payment["status"] == "requires_confirmation", payment  # under the no-PIN limit
    r = await client.post(
        f"/api/v1/pay/payments/{payment['id']}/confirm", json={"pin": PIN}, headers=bearer(alice)
    )
    assert r.status_code == 403 and r.json()["code"] == "risk.step_up_required", r.text
    await client.post(
        "/api/v1/pay/step-up-code",
        json={"shop": shop.code, "amount": "5.00", "currency": "CNY"},
        headers=bearer(alice),
    )
    sms = await last_code(app, e164(phone))
    r = await client.post(
        f"/api/v1/pay/payments/{payment['id']}/confirm",
        json={"pin": PIN, "step_up_code": sms},
        headers=bearer(alice),
    )
    assert r.status_code == 200 and r.json()["status"] == "succeeded", r.text
    assert await balance(client, alice) == ("995.00", "0.00")


async def test_withdrawals_are_judged_a_hold_goes_to_review_a_block_refuses(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    phone, alice, alice_id = await ready_user(client, app, minor=100_000)
    card = await bind_card(client, app, phone, alice, CARD_OK)
    await _set_rule(app, "velocity", action="hold", threshold=1)
    r = await withdraw(client, app, phone, alice, card, "10.00")
    assert r.status_code == 201, r.text
    async with app.state.db.session() as s:
        w = (await s.execute(select(Withdrawal).where(Withdrawal.user_id == alice_id))).scalar_one()
        assert w.status == "in_review"  # far below the review threshold: the rules sent it
    log = [(d.channel, d.action) for d in await _decisions(app, alice_id)]
    assert log == [("withdrawal", "hold")]
    await _set_rule(app, "velocity", action="block")
    before = await balance(client, alice)
    r = await withdraw(client, app, phone, alice, card, "10.00")
    assert r.status_code == 403 and r.json()["code"] == "risk.blocked", r.text
    assert await balance(client, alice) == before


async def test_screenshots_with_a_claim_are_checked_kept_and_copied_to_its_ticket(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    alice, _, bob, _, tx_id = await _sent(client, app)
    r = await _claim(client, alice, tx_id)
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    url = f"/api/v1/disputes/cases/{case_id}/screenshots"
    # A program renamed to .png is refused, and nothing is kept.
    r = await client.post(
        url,
        files=[
            ("files", ("chat.png", PNG, "image/png")),
            ("files", ("x.png", b"MZ\x90", "image/png")),
        ],
        headers=bearer(alice),
    )
    assert r.status_code == 422 and r.json()["code"] == "disputes.screenshot_refused", r.text
    r = await client.post(
        url, files=[("files", ("chat.png", PNG, "image/png"))], headers=bearer(bob)
    )
    assert r.status_code == 404  # not Bob's case
    r = await client.post(
        url, files=[("files", ("chat.png", PNG, "image/png"))], headers=bearer(alice)
    )
    assert r.status_code == 200, r.text
    assert "screenshots" in [e["kind"] for e in r.json()["timeline"]]
    await deliver(app)  # the case's ticket is opened, with the screenshot
    async with app.state.db.session() as s:
        case = await s.get(Case, case_id)
        assert [f.filename for f in (await s.execute(select(CaseFile))).scalars()] == ["chat.png"]
        ticket = (
            await s.execute(select(Ticket).where(Ticket.reference == case.ticket_reference))
        ).scalar_one()
        names = (
            await s.execute(
                select(TicketAttachment.filename).where(TicketAttachment.ticket_id == ticket.id)
            )
        ).scalars()
        assert list(names) == ["chat.png"]


async def test_an_agent_opens_a_case_for_the_customer_and_releases_and_holds_again(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    client, app = fresh_client, fresh_app
    alice, _, bob, _, tx_id = await _sent(client, app)
    agent, _ = await staff_member(app, role="support_agent")
    ha = bearer(agent)
    me = (await client.get("/api/v1/me", headers=bearer(alice))).json()
    page = await client.get(f"/console/customers/{me['id']}", headers=ha)
    assert page.status_code == 200 and 'id="open-case-form"' in page.text
    r = await client.post(
        f"/console/customers/{me['id']}/case",
        data={"transaction": tx_id, "what_happened": "客户来电：不是本人操作",
              "shared": "sms_code", "amount": "２００", "csrf_token": await csrf(client, ha)},
        headers=ha,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    case_url = r.headers["location"].split("?")[0]
    async with app.state.db.session() as s:
        case = (await s.execute(select(Case))).scalar_one()
        assert (case.source, case.claimed, case.held) == ("agent", 20_000, 20_000)
    assert await balance(client, bob) == ("100.00", "200.00")
    # The customer sees it in the wallet.
    mine = (await client.get("/api/v1/disputes/cases", headers=bearer(alice))).json()
    assert [c["reference"] for c in mine] == [case.reference]
    # A second case on the same transaction is refused with its code, on the page.
    r = await client.post(
        f"/console/customers/{me['id']}/case",
        data={"transaction": tx_id, "what_happened": "again", "csrf_token": await csrf(client, ha)},
        headers=ha,
    )
    assert r.status_code == 409
    r = await client.post(
        f"{case_url}/hold/release",
        data={"note": "对方已证明是货款", "csrf_token": await csrf(client, ha)},
        headers=ha,
    )
    assert r.status_code == 303, r.text
    assert await balance(client, bob) == ("300.00", "0.00")
    r = await client.post(
        f"{case_url}/hold/place", data={"csrf_token": await csrf(client, ha)}, headers=ha
    )
    assert r.status_code == 303, r.text
    assert await balance(client, bob) == ("100.00", "200.00")
    async with app.state.db.session() as s:
        actions = [
            a.action
            for a in (await s.execute(select(AuditEntry).order_by(AuditEntry.at))).scalars()
            if a.action.startswith("case.")
        ]
    assert actions[:1] == ["case.opened_for_customer"]
    assert "case.hold_released" in actions and "case.hold_placed" in actions
