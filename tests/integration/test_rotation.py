"""Rotating the data keys, the secret key and the PIN pepper without downtime or lock-outs:
what was made under the old keys keeps working after the rotation, `qianbao keys rewrap`
re-seals it, and then the old keys can be removed without losing anything."""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pyotp
from fastapi import FastAPI
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import select, text
from stdnum.cn import ric

from qianbao.identity import kyc
from qianbao.identity.models_kyc import KycDocument, KycIdentity
from qianbao.kernel.clock import TestClock
from qianbao.kernel.crypto import Sealer, key_id, tag_id
from qianbao.main import create_app
from qianbao.ops.keys import Tally, rewrap
from qianbao.settings import Settings
from qianbao.wallet import cards
from qianbao.web import csrf
from tests.support.identity import bearer, e164, last_code
from tests.support.secrets import remember
from tests.support.wallet import CARD_OK, NAME, PIN, balance, bind_card, key, ready_user

REPO = Path(__file__).resolve().parents[2]
S_OLD, S_NEW = "secret-key-old-0123456789abcdef", "secret-key-new-fedcba9876543210"
D_OLD, D_NEW = "data-key-old-0123456789abcdef", "data-key-new-fedcba9876543210"
P_OLD, P_NEW = "pin-pepper-old-0123456789abcdef", "pin-pepper-new-fedcba9876543210"
remember(S_OLD, S_NEW, D_OLD, D_NEW, P_OLD, P_NEW)
JSON = {"Accept": "application/json"}


ID_NUMBER = "11010519900504" + "001"
ID_NUMBER += ric.calc_check_digit(ID_NUMBER + "0")


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def _keys(settings: Settings, *, secret: list[str], data: list[str], pepper: list[str]):
    s = settings.model_copy(deep=True)
    s.security.secret_key = [SecretStr(v) for v in secret]
    s.security.data_keys = [SecretStr(v) for v in data]
    s.identity.pin_pepper = [SecretStr(v) for v in pepper]
    return s


@asynccontextmanager
async def _running(
    settings: Settings, url: str, clock: TestClock
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The service on ``url`` with these keys (a deployment restarted with new settings)."""
    app = create_app(settings, database_url_override=url, run_worker=False, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(
            app=app, raise_app_exceptions=False, client=("203.0.113.9", 50000)
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield app, c


def _page_csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    assert found
    return found.group(1)


async def _stored(app: FastAPI, sql: str, **params: object) -> object:
    async with app.state.db.session() as s:
        return (await s.execute(text(sql), params)).scalar_one()


def _cli_rewrap(url: str, tmp_path: Path, settings_env: dict[str, str]):
    env = {k: v for k, v in os.environ.items() if not k.startswith("QIANBAO_")}
    env.update(
        QIANBAO_ENVIRONMENT="test",
        QIANBAO_VAR_DIR=str(tmp_path / "var"),
        QIANBAO_DATABASE__URL=url,
        QIANBAO_LOGGING__LEVEL="WARNING",
        **settings_env,
    )
    return subprocess.run(
        [sys.executable, "-m", "qianbao.cli", "keys", "rewrap", "--batch-size", "1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_rotate_every_key_rewrap_and_remove_the_old_ones(
    fresh_db_url: str, settings: Settings, clock: TestClock, tmp_path: Path
):
    old = _keys(settings, secret=[S_OLD], data=[D_OLD], pepper=[P_OLD])
    async with _running(old, fresh_db_url, clock) as (app, client):
        phone, token, user_id = await ready_user(client, app, minor=10_000)
        bob_phone, _, _ = await ready_user(client, app)
        card_id = await bind_card(client, app, phone, token, CARD_OK)
        setup = (await client.post("/api/v1/me/2fa/setup", headers=bearer(token))).json()
        remember(setup["secret"])
        totp = pyotp.TOTP(setup["secret"])
        r = await client.post(
            "/api/v1/me/2fa/confirm",
            json={"code": totp.at(clock.now())},
            headers=bearer(token),
        )
        assert r.status_code == 200, r.text
        recovery = r.json()["recovery_codes"]
        remember(*recovery)
        # Identity verification: the ID number and a photo, sealed under the old data key.
        r = await client.post(
            "/api/v1/me/verification/basic",
            json={"real_name": "王小明", "id_number": ID_NUMBER, "birthday": "1990-05-04",
                  "sex": "male"},
            headers=bearer(token),
        )  # fmt: skip
        assert r.status_code == 200, r.text
        r = await client.put(
            "/api/v1/me/verification/documents/id_front",
            files={"file": ("front.jpg", _jpeg(), "image/jpeg")},
            headers=bearer(token),
        )
        assert r.status_code == 200, r.text
        page = await client.get("/")
        csrf_cookie, old_form_token = client.cookies["qb_csrf"], _page_csrf(page)
        sealed_before = await _stored(app, "SELECT number_sealed FROM bank_cards")

    # Rotation: the new keys first, the old ones still listed. Nothing else changes.
    rotated = _keys(settings, secret=[S_NEW, S_OLD], data=[D_NEW, D_OLD], pepper=[P_NEW, P_OLD])
    async with _running(rotated, fresh_db_url, clock) as (app, client):
        # Sessions are random tokens, not signed: everyone stays signed in.
        assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200
        # A form opened before the rotation still posts (405: it passed the CSRF guard) ...
        client.cookies.set("qb_csrf", csrf_cookie)
        r = await client.post("/", data={"csrf_token": old_form_token}, headers=JSON)
        assert r.status_code == 405, r.text
        # ... and pages now carry tokens of the new key.
        fresh_token = _page_csrf(await client.get("/"))
        assert fresh_token == csrf.form_token(S_NEW.encode(), csrf_cookie) != old_form_token
        # The PIN set under the old pepper pays, and is re-hashed with the new one.
        assert tag_id(
            await _stored(app, "SELECT pin_hash FROM users WHERE id = :u", u=user_id)
        ) == key_id(P_OLD.encode())
        r = await client.post(
            "/api/v1/wallet/transfers",
            json={"to": bob_phone, "amount": "1.00", "currency": "CNY", "pin": PIN},
            headers={**bearer(token), **key()},
        )
        assert r.status_code == 201, r.text
        rehashed = await _stored(app, "SELECT pin_hash FROM users WHERE id = :u", u=user_id)
        assert tag_id(rehashed) == key_id(P_NEW.encode())
        # The card sealed with the old data key opens; binding it again is still refused.
        async with app.state.db.session() as s:
            card = await cards.card_by_id(s, uuid.UUID(card_id))
            assert card is not None and cards.reveal(rotated, card) == CARD_OK
        app.state.settings.identity.otp_resend_cooldown_s = 0
        assert (
            await client.post("/api/v1/wallet/cards/code", headers=bearer(token))
        ).status_code == 202
        code = await last_code(app, e164(phone))
        r = await client.post(
            "/api/v1/wallet/cards",
            json={"number": CARD_OK, "holder_name": NAME, "pin": PIN, "code": code},
            headers=bearer(token),
        )
        assert r.json()["code"] == "wallet.card_already_bound", r.text
        # A recovery code printed before the rotation still works.
        r = await client.post(
            "/api/v1/me/2fa/step-up", json={"code": recovery[0]}, headers=bearer(token)
        )
        assert r.status_code == 204, r.text

    # Dropping the old keys now would lose the card and the authenticator: rewrap says so.
    final = _keys(settings, secret=[S_NEW], data=[D_NEW], pepper=[P_NEW])
    early = await rewrap(final, fresh_db_url, write=False)
    assert early.kinds["bank card numbers"].unreadable == 1
    assert early.kinds["authenticator secrets"].unreadable == 1
    assert early.kinds["identity card numbers"].unreadable == 1
    assert early.kinds["identity photos"].unreadable == 1

    # `qianbao keys rewrap` with the rotated settings re-seals both, in batches of one.
    env = {
        "QIANBAO_SECURITY__SECRET_KEY": f'["{S_NEW}", "{S_OLD}"]',
        "QIANBAO_SECURITY__DATA_KEYS": f'["{D_NEW}", "{D_OLD}"]',
        "QIANBAO_IDENTITY__PIN_PEPPER": f'["{P_NEW}", "{P_OLD}"]',
    }
    r = _cli_rewrap(fresh_db_url, tmp_path, env)
    assert r.returncode == 0, r.stderr
    assert re.search(r"bank card numbers\s+re-sealed\s+1\s", r.stdout), r.stdout
    assert re.search(r"authenticator secrets\s+re-sealed\s+1\s", r.stdout), r.stdout
    assert re.search(r"identity card numbers\s+re-sealed\s+1\s", r.stdout), r.stdout
    assert re.search(r"identity photos\s+re-sealed\s+1\s", r.stdout), r.stdout
    assert "payment PINs not on the newest pepper: 1" in r.stdout  # Bob has not paid since
    for value in (S_NEW, S_OLD, D_NEW, D_OLD, P_NEW, P_OLD):
        assert value not in r.stdout + r.stderr
    # Idempotent: a second run finds everything current.
    again = await rewrap(rotated, fresh_db_url)
    assert again.kinds["bank card numbers"] == Tally(resealed=0, current=1, unreadable=0)
    assert again.kinds["authenticator secrets"] == Tally(resealed=0, current=1, unreadable=0)

    # The old keys removed: nothing is lost.
    async with _running(final, fresh_db_url, clock) as (app, client):
        sealed_after = await _stored(app, "SELECT number_sealed FROM bank_cards")
        assert sealed_after != sealed_before
        assert Sealer.key_id_of(str(sealed_after)) == cards.sealer(final).primary_id
        async with app.state.db.session() as s:
            card = await cards.card_by_id(s, uuid.UUID(card_id))
            assert card is not None and cards.reveal(final, card) == CARD_OK
        clock.advance(seconds=90)  # a new authenticator step (a used one is refused)
        r = await client.post(
            "/api/v1/me/2fa/step-up", json={"code": totp.at(clock.now())}, headers=bearer(token)
        )
        assert r.status_code == 204, r.text
        r = await client.post("/api/v1/me/pin/check", json={"pin": PIN}, headers=bearer(token))
        assert r.status_code == 204, r.text
        # The ID number and the photo open under the new data key.
        async with app.state.db.session() as s:
            identity = await s.get(KycIdentity, user_id)
            assert identity is not None and kyc.reveal_id_number(final, identity) == ID_NUMBER
            app_id, kind, sealed = (
                await s.execute(
                    select(KycDocument.application_id, KycDocument.kind, KycDocument.image_sealed)
                )
            ).one()
            image = kyc.document_sealer(final).open(sealed, aad=kyc.document_aad(app_id, kind))
            assert image[:2] == b"\xff\xd8"
        assert await balance(client, token) == ("99.00", "0.00")
    done = await rewrap(final, fresh_db_url, write=False)
    assert done.unreadable == 0


async def test_a_pin_hash_from_before_key_ids_is_accepted_and_rehashed(
    fresh_db_url: str, settings: Settings, clock: TestClock
):
    rotated = _keys(settings, secret=[S_NEW], data=[D_NEW], pepper=[P_NEW, P_OLD])
    async with _running(rotated, fresh_db_url, clock) as (app, client):
        _, token, user_id = await ready_user(client, app)
        legacy = hmac.new(P_OLD.encode(), f"{user_id}|{PIN}".encode(), hashlib.sha256).digest()
        async with app.state.db.transaction() as s:
            await s.execute(
                text("UPDATE users SET pin_hash = :h WHERE id = :u"), {"h": legacy, "u": user_id}
            )
        r = await client.post("/api/v1/me/pin/check", json={"pin": "000000"}, headers=bearer(token))
        assert r.json()["code"] == "identity.wrong_pin"
        assert await _stored(app, "SELECT pin_hash FROM users WHERE id = :u", u=user_id) == legacy
        r = await client.post("/api/v1/me/pin/check", json={"pin": PIN}, headers=bearer(token))
        assert r.status_code == 204, r.text
        stored = await _stored(app, "SELECT pin_hash FROM users WHERE id = :u", u=user_id)
        assert tag_id(stored) == key_id(P_NEW.encode())
        assert await _stored(app, "SELECT pin_failures FROM users WHERE id = :u", u=user_id) == 0
