"""Identity through the API: sign-up, codes and their limits, passwords, sign-in and lockout,
sessions. Runs on a database that really commits, so refused attempts still count."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from qianbao.identity import otp
from qianbao.identity.errors import CodeInvalid, CodeTooManyChecks
from qianbao.identity.models import OneTimeCode
from tests.support.identity import (
    STRONG_PASSWORD,
    bearer,
    deliver,
    e164,
    last_code,
    new_phone,
    sign_up,
    sms_messages,
)

JSON_EN = {"Accept-Language": "en"}


async def test_sign_up_with_an_sms_code_then_who_am_i(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, token = await sign_up(fresh_client, fresh_app, real_name="张三丰")
    r = await fresh_client.get("/api/v1/me", headers=bearer(token))
    assert r.status_code == 200
    me = r.json()
    assert me["phone"] == e164(phone)
    assert (me["role"], me["pin_set"], me["two_factor_enabled"], me["frozen"]) == (
        "user",
        False,
        False,
        False,
    )
    assert "password" not in r.text
    # The SMS said what the code is for and warned never to share it.
    text_sent = sms_messages(fresh_app, e164(phone))[0]
    assert "验证码" in text_sent or "code" in text_sent.lower()


async def test_phone_numbers_are_validated_and_stored_in_e164(fresh_client: httpx.AsyncClient):
    for bad in ["12345", "abc", "+1 202", "010-12345678", "", "+86 139 0000 12345 6789"]:
        r = await fresh_client.post(
            "/api/v1/auth/signup/code", json={"phone": bad}, headers=JSON_EN
        )
        assert r.status_code == 422, bad
        assert r.json()["code"] in {"identity.invalid_phone", "request.validation_failed"}
    r = await fresh_client.post("/api/v1/auth/signup/code", json={"phone": "+86 139-0000-1234"})
    assert r.status_code == 202
    assert r.json()["sent_to"] == "+86 139****1234"


async def test_a_registered_number_gets_the_same_answer_but_no_code(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, _ = await sign_up(fresh_client, fresh_app)
    before = len(sms_messages(fresh_app, e164(phone)))
    await asyncio.sleep(0)
    r = await fresh_client.post("/api/v1/auth/signup/code", json={"phone": phone})
    # (the cool-down applies to known and unknown numbers alike)
    assert r.status_code in {202, 429}
    await deliver(fresh_app)
    assert len(sms_messages(fresh_app, e164(phone))) == before


@pytest.mark.parametrize(
    ("password", "confirm", "code"),
    [
        ("short", "short", "identity.weak_password"),
        ("password123", "password123", "identity.weak_password"),
        ("qwertyuiop", "qwertyuiop", "identity.weak_password"),
        ("aaaaaaaaaaaa", "aaaaaaaaaaaa", "identity.weak_password"),
        ("PHONE-digits", "PHONE-digits", "identity.weak_password"),
        ("ZhangSanFeng19900101", "ZhangSanFeng19900101", "identity.weak_password"),
        ("x" * 129, "x" * 129, "identity.weak_password"),
        (STRONG_PASSWORD, STRONG_PASSWORD + "!", "identity.passwords_differ"),
    ],
)
async def test_weak_passwords_are_refused_and_nothing_is_created(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI, password: str, confirm: str, code: str
):
    phone = new_phone()
    password = password.replace("PHONE-digits", f"my{phone}")
    confirm = confirm.replace("PHONE-digits", f"my{phone}")
    await fresh_client.post("/api/v1/auth/signup/code", json={"phone": phone})
    sms_code = await last_code(fresh_app, e164(phone))
    r = await fresh_client.post(
        "/api/v1/auth/signup",
        json={
            "phone": phone,
            "code": sms_code,
            "password": password,
            "password_confirm": confirm,
            "accept_terms": True,
            "real_name": "Zhang San Feng",
            "birthday": "1990-01-01",
        },
        headers=JSON_EN,
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code
    if code == "identity.weak_password":
        assert r.json()["title"].startswith("Choose a stronger password")
    # Nothing was created, and the code was not used up: the user can fix the password.
    r = await fresh_client.post(
        "/api/v1/auth/signup",
        json={
            "phone": phone,
            "code": sms_code,
            "password": STRONG_PASSWORD,
            "password_confirm": STRONG_PASSWORD,
            "accept_terms": True,
        },
    )
    assert r.status_code == 201


async def test_64_character_passphrases_are_welcome(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    long_one = "the quick brown fox jumps over the lazy dog near the river bank!!"
    assert len(long_one) >= 64
    phone = new_phone()
    await fresh_client.post("/api/v1/auth/signup/code", json={"phone": phone})
    code = await last_code(fresh_app, e164(phone))
    r = await fresh_client.post(
        "/api/v1/auth/signup",
        json={
            "phone": phone,
            "code": code,
            "password": long_one,
            "password_confirm": long_one,
            "accept_terms": True,
        },
    )
    assert r.status_code == 201


async def test_codes_are_single_use_limited_to_five_checks_and_expire(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone = new_phone()
    await fresh_client.post("/api/v1/auth/signup/code", json={"phone": phone})
    code = await last_code(fresh_app, e164(phone))
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    body = {
        "phone": phone,
        "password": STRONG_PASSWORD,
        "password_confirm": STRONG_PASSWORD,
        "accept_terms": True,
    }
    for _ in range(5):
        r = await fresh_client.post("/api/v1/auth/signup", json={**body, "code": wrong})
        assert r.json()["code"] == "identity.code_invalid"
    r = await fresh_client.post("/api/v1/auth/signup", json={**body, "code": code})
    assert r.status_code == 429
    assert r.json()["code"] == "identity.code_locked"  # even the right code: it is used up

    # A code expires after five minutes.
    phone2 = new_phone()
    await fresh_client.post("/api/v1/auth/signup/code", json={"phone": phone2})
    code2 = await last_code(fresh_app, e164(phone2))
    async with fresh_app.state.db.transaction() as s:
        await s.execute(
            text(
                "UPDATE otp_codes SET expires_at = now() - interval '1 second' WHERE destination = :d"
            ),
            {"d": e164(phone2)},
        )
    r = await fresh_client.post(
        "/api/v1/auth/signup", json={**body, "phone": phone2, "code": code2}
    )
    assert r.json()["code"] == "identity.code_invalid"


async def test_resend_cool_down_and_hourly_send_limit(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone = new_phone()
    assert (
        await fresh_client.post("/api/v1/auth/signup/code", json={"phone": phone})
    ).status_code == 202
    r = await fresh_client.post("/api/v1/auth/signup/code", json={"phone": phone}, headers=JSON_EN)
    assert r.status_code == 429
    assert r.json()["code"] == "identity.code_cooldown"
    assert "Wait" in r.json()["title"]
    fresh_app.state.settings.identity.otp_resend_cooldown_s = 0
    for _ in range(3):  # four sign-up codes an hour (identity.otp_max_sends_per_purpose_hour)
        assert (
            await fresh_client.post("/api/v1/auth/signup/code", json={"phone": phone})
        ).status_code == 202
    r = await fresh_client.post("/api/v1/auth/signup/code", json={"phone": phone})
    assert r.status_code == 429
    assert r.json()["code"] == "identity.code_send_limit"
    # Per-IP cap: many different numbers from one address.
    fresh_app.state.settings.identity.otp_max_sends_per_ip_hour = 8
    statuses = [
        (
            await fresh_client.post("/api/v1/auth/signup/code", json={"phone": new_phone()})
        ).status_code
        for _ in range(5)
    ]
    assert statuses[-1] == 429


async def test_100_parallel_wrong_guesses_evaluate_at_most_5(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone = new_phone()
    await fresh_client.post("/api/v1/auth/signup/code", json={"phone": phone})
    code = await last_code(fresh_app, e164(phone))
    wrong = f"{(int(code) + 7) % 1_000_000:06d}"
    ctx = fresh_app.state.identity

    async def guess() -> str:
        async with fresh_app.state.db.session() as s:
            try:
                await otp.check_code(s, ctx, destination=e164(phone), purpose="sign_up", code=wrong)
            except (CodeInvalid, CodeTooManyChecks) as exc:
                return type(exc).__name__
        return "accepted"

    results = await asyncio.gather(*(guess() for _ in range(100)))
    assert results.count("CodeInvalid") == 5
    assert results.count("CodeTooManyChecks") == 95
    async with fresh_app.state.db.session() as s:
        checks = (
            await s.execute(
                select(OneTimeCode.checks).where(OneTimeCode.destination == e164(phone))
            )
        ).scalar()
    assert checks == 5


async def test_login_logout_and_the_same_answer_for_unknown_numbers(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, _ = await sign_up(fresh_client, fresh_app)
    r = await fresh_client.post(
        "/api/v1/auth/login", json={"phone": phone, "password": STRONG_PASSWORD}
    )
    assert r.status_code == 200 and r.json()["second_factor_required"] is False
    token = r.json()["token"]
    assert (await fresh_client.get("/api/v1/me", headers=bearer(token))).status_code == 200
    wrong = await fresh_client.post(
        "/api/v1/auth/login", json={"phone": phone, "password": "not the password at all"}
    )
    unknown = await fresh_client.post(
        "/api/v1/auth/login", json={"phone": new_phone(), "password": "not the password at all"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "identity.login_failed"
    assert wrong.json()["title"] == unknown.json()["title"]
    assert (
        await fresh_client.post("/api/v1/auth/logout", headers=bearer(token))
    ).status_code == 204
    r = await fresh_client.get("/api/v1/me", headers=bearer(token))
    assert r.status_code == 401
    assert r.json()["code"] == "identity.not_signed_in"


async def test_ten_failures_lock_for_thirty_minutes_known_or_not(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, _ = await sign_up(fresh_client, fresh_app)
    ghost = new_phone()
    for number in (phone, ghost):
        codes = []
        for _ in range(10):
            r = await fresh_client.post(
                "/api/v1/auth/login",
                json={"phone": number, "password": "wrong password here"},
                headers=JSON_EN,
            )
            codes.append(r.json()["code"])
        assert codes[:9] == ["identity.login_failed"] * 9
        assert codes[9] == "identity.login_locked"
        r = await fresh_client.post(
            "/api/v1/auth/login",
            json={"phone": number, "password": STRONG_PASSWORD},
            headers=JSON_EN,
        )
        assert r.status_code == 429
        assert r.json()["code"] == "identity.login_locked"
        assert "30 minutes" in r.json()["title"]
    async with fresh_app.state.db.transaction() as s:  # half an hour later
        await s.execute(
            text("UPDATE login_throttles SET locked_until = now() - interval '1 second'")
        )
    r = await fresh_client.post(
        "/api/v1/auth/login", json={"phone": phone, "password": STRONG_PASSWORD}
    )
    assert r.status_code == 200


async def test_sessions_list_revoke_and_password_change_ends_others(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    phone, first = await sign_up(fresh_client, fresh_app)
    second = (
        await fresh_client.post(
            "/api/v1/auth/login", json={"phone": phone, "password": STRONG_PASSWORD}
        )
    ).json()["token"]
    third = (
        await fresh_client.post(
            "/api/v1/auth/login", json={"phone": phone, "password": STRONG_PASSWORD}
        )
    ).json()["token"]
    listed = (await fresh_client.get("/api/v1/me/sessions", headers=bearer(first))).json()
    assert len(listed) == 3 and sum(s["current"] for s in listed) == 1
    victim = next(s for s in listed if not s["current"])
    assert (
        await fresh_client.delete(f"/api/v1/me/sessions/{victim['id']}", headers=bearer(first))
    ).status_code == 204
    alive = []
    for t in (second, third):
        if (await fresh_client.get("/api/v1/me", headers=bearer(t))).status_code == 200:
            alive.append(t)
    assert len(alive) == 1
    # Another user's session id is simply not found.
    _, other = await sign_up(fresh_client, fresh_app)
    other_sessions = (await fresh_client.get("/api/v1/me/sessions", headers=bearer(other))).json()
    r = await fresh_client.delete(
        f"/api/v1/me/sessions/{other_sessions[0]['id']}", headers=bearer(first)
    )
    assert r.status_code == 404
    assert (await fresh_client.get("/api/v1/me", headers=bearer(other))).status_code == 200
    r = await fresh_client.delete(f"/api/v1/me/sessions/{uuid.uuid4()}", headers=bearer(first))
    assert r.status_code == 404
    # Changing the password ends every other session, keeps this one.
    new_password = "a completely different passphrase"
    r = await fresh_client.post(
        "/api/v1/me/password",
        json={
            "old_password": STRONG_PASSWORD,
            "new_password": new_password,
            "new_password_confirm": new_password,
        },
        headers=bearer(first),
    )
    assert r.status_code == 204
    assert (await fresh_client.get("/api/v1/me", headers=bearer(first))).status_code == 200
    for t in alive:
        assert (await fresh_client.get("/api/v1/me", headers=bearer(t))).status_code == 401
    r = await fresh_client.post(
        "/api/v1/auth/login", json={"phone": phone, "password": new_password}
    )
    assert r.status_code == 200


async def test_cookie_authenticated_api_calls_need_the_csrf_header(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    _, token = await sign_up(fresh_client, fresh_app)
    fresh_client.cookies.set("qb_session", token)
    r = await fresh_client.post("/api/v1/me/freeze")
    assert r.status_code == 403
    assert r.json()["code"] == "csrf.failed"
    fresh_client.cookies.clear()
