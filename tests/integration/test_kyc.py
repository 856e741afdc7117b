"""Identity verification (A8) on a real database, through the API and the console's pages.

Tier 1: a name and resident ID number accepted (a lowercase x read as X), and refused with a
stable code, changing nothing: a wrong check digit, full-width digits, a birthday or sex that
does not match the number, a birthday in the future, someone under 16 (by the service's clock),
the same number on a second account; the number masked in every answer and sealed at rest.
Tier 2: photos refused when they are not images (a PDF, a text file named .jpg), too large (the
kyc cap, and a 50 MB body at the request guard) or a decompression bomb; a JPEG's EXIF and GPS
stripped and its orientation applied; photos sealed at rest. The review: approval lifts the
tier and the limits the API reports; a rejection's reason reaches the user in their language; a
new photo of one document asked for and replaced; customers and agents refused in the console;
every view and decision audited; two operators deciding at once make one decision.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import struct
import zlib
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import select, text
from stdnum.cn import ric

from qianbao.demo import _loaders
from qianbao.identity import kyc, kyc_review
from qianbao.identity.accounts import by_phone
from qianbao.identity.kyc_errors import AlreadyDecided
from qianbao.identity.models import User
from qianbao.identity.models_kyc import KycApplication, KycDocument, KycIdentity
from qianbao.notifications import inbox, render
from qianbao.support.console import kyc as console_kyc
from qianbao.support.console.models import AuditEntry
from tests.integration.test_console import csrf, staff_member
from tests.support.identity import bearer, deliver, e164, sign_up, sms_messages

API = "/api/v1/me/verification"
_serial = itertools.count(101)


@pytest.fixture
def app(fresh_app: FastAPI) -> FastAPI:
    """Sign-up codes need real commits: every test here runs on a fresh database."""
    return fresh_app


@pytest.fixture
def client(fresh_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return fresh_client


def id_number(born: date, sex: str = "F", region: str = "110105") -> str:
    """A valid made-up resident ID number (odd sequence for men, even for women)."""
    seq = next(_serial) % 500 * 2 + (1 if sex == "M" else 0)
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def number_ending_in_x(born: date) -> str:
    while True:
        number = id_number(born, "M")
        if number.endswith("X"):
            return number


def basic(number: str, born: date, sex: str = "female", name: str = "王小红") -> dict[str, str]:
    return {"real_name": name, "id_number": number, "birthday": born.isoformat(), "sex": sex}


def jpeg(size: tuple[int, int] = (320, 200), **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, "JPEG", **save)
    return out.getvalue()


def gps_jpeg() -> bytes:
    """A 300 × 200 photo taken with the phone turned (EXIF orientation 6: rotate 90° clockwise),
    with the place it was taken (GPS), the camera's make and an ICC profile."""
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation
    exif[0x010F] = "PhoneMaker"  # make
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 28.0)})
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return jpeg((300, 200), exif=exif, icc_profile=icc)


def png_bomb(width: int = 8000, height: int = 8000) -> bytes:
    """A tiny PNG whose header says it is ``width`` × ``height`` pixels."""
    out = io.BytesIO()
    Image.new("1", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


async def verified_user(client: httpx.AsyncClient, app: FastAPI, **extra: Any) -> dict[str, Any]:
    """A signed-up user at tier 1; returns phone, token, headers, number and user id."""
    phone, token = await sign_up(client, app, **extra)
    h = bearer(token)
    born = date(1990, 5, 4)
    number = id_number(born)
    r = await client.post(f"{API}/basic", json=basic(number, born), headers=h)
    assert r.status_code == 200, r.text
    async with app.state.db.session() as s:
        user = await by_phone(s, e164(phone))
    return {"phone": phone, "h": h, "number": number, "id": user.id}


async def put(client: httpx.AsyncClient, h: dict, kind: str, data: bytes, name: str = "p.jpg"):
    return await client.put(
        f"{API}/documents/{kind}", files={"file": (name, data, "image/jpeg")}, headers=h
    )


async def submitted(client: httpx.AsyncClient, app: FastAPI, **extra: Any) -> dict[str, Any]:
    """A tier 1 user with the three photos sent for review."""
    u = await verified_user(client, app, **extra)
    for kind in kyc.DOCUMENT_KINDS:
        assert (await put(client, u["h"], kind, jpeg())).status_code == 200
    r = await client.post(f"{API}/submit", headers=u["h"])
    assert r.status_code == 200, r.text
    u["app"] = r.json()["application"]["id"]
    return u


async def supervisor(client: httpx.AsyncClient, app: FastAPI, role: str = "supervisor"):
    token, staff_id = await staff_member(app, role=role)
    h = {**bearer(token), "Accept-Language": "en"}
    return {"h": h, "id": staff_id, "csrf": await csrf(client, h)}


async def decide(client: httpx.AsyncClient, op: dict, app_id: str, **form: str) -> httpx.Response:
    return await client.post(
        f"/console/kyc/{app_id}/decide", data={"csrf_token": op["csrf"], **form}, headers=op["h"]
    )


async def row_text(app: FastAPI, table: str) -> str:
    async with app.state.db.session() as s:
        rows = (await s.execute(text(f"SELECT t::text FROM {table} t"))).scalars()
        return "\n".join(rows)


# -- tier 1 -------------------------------------------------------------------------------------
async def test_tier1_accepted_masked_everywhere_and_sealed(client, app):
    _phone, token = await sign_up(client, app, real_name="王晓")
    h = bearer(token)
    r = await client.get(API, headers=h)
    assert r.status_code == 200
    body = r.json()
    assert (body["tier"], body["next_step"], body["identity"], body["application"]) == (
        0, "identity", None, None,
    )  # fmt: skip
    # What each tier unlocks: the limits table (tier 1 four times tier 0, tier 2 ten times).
    transfer = {t["tier"]: next(c for c in t["limits"] if c["channel"] == "transfer")
                for t in body["tiers"]}  # fmt: skip
    assert [transfer[t]["single_max"] for t in (0, 1, 2)] == [
        {"amount": "5000.00", "currency": "CNY"},
        {"amount": "20000.00", "currency": "CNY"},
        {"amount": "50000.00", "currency": "CNY"},
    ]
    assert [c["channel"] for c in body["tiers"][0]["limits"]][:4] == [
        "topup", "transfer", "withdrawal", "payment",
    ]  # fmt: skip

    born = date(1985, 12, 31)
    number = number_ending_in_x(born)
    typed = " " + number[:-1] + "x "  # lowercase x, spaces around: accepted
    r = await client.post(f"{API}/basic", json=basic(typed, born, "male", "张 伟"), headers=h)
    assert r.status_code == 200, r.text
    masked = number[:4] + "*" * 10 + number[-4:]
    assert masked.endswith("X") and len(masked) == 18
    body = r.json()
    assert body["tier"] == 1 and body["next_step"] == "documents"
    assert body["identity"] == {
        "real_name": "张 伟",
        "id_number": masked,
        "birthday": "1985-12-31",
        "sex": "male",
        "verified_at": body["identity"]["verified_at"],
    }
    answers = [r.text, (await client.get(API, headers=h)).text,
               (await client.get("/api/v1/me", headers=h)).text]  # fmt: skip
    for answer in answers:
        assert number not in answer and number[6:14] + number[14:17] not in answer
    assert masked in answers[1]
    me = (await client.get("/api/v1/me", headers=h)).json()
    assert me["kyc_tier"] == 1 and me["real_name"] == "张 伟"
    # Sealed at rest: the row holds the masked form, never the number.
    stored = await row_text(app, "kyc_identities")
    assert number not in stored and number[:17] not in stored and masked in stored
    async with app.state.db.session() as s:
        identity = (await s.execute(select(KycIdentity))).scalar_one()
        assert kyc.reveal_id_number(app.state.settings, identity) == number
        user = await s.get(User, identity.user_id)
        assert user.birthday == born and user.kyc_tier == 1
    # Twice: refused.
    r = await client.post(f"{API}/basic", json=basic(number, born, "male", "张 伟"), headers=h)
    assert (r.status_code, r.json()["code"]) == (409, "kyc.already_verified")


async def test_tier1_refusals_change_nothing(client, app, clock):
    clock.freeze(datetime(2026, 6, 15, 4, 0, tzinfo=UTC))  # 12:00 in China, 15 June 2026
    phone, token = await sign_up(client, app)
    h = bearer(token)
    born = date(1990, 5, 4)
    number = id_number(born)
    wrong_digit = number[:-1] + ("0" if number[-1] != "0" else "1")
    full_width = "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in number)
    sixteen_tomorrow = date(2010, 6, 16)
    sixteen_today = date(2010, 6, 15)
    tomorrow = date(2026, 6, 16)
    cases = [
        (basic(wrong_digit, born), 422, "kyc.id_invalid"),
        (basic(full_width, born), 422, "kyc.id_invalid"),
        (basic(number[:-1], born), 422, "kyc.id_invalid"),  # 17 characters
        (basic("11010519900504002", born), 422, "kyc.id_invalid"),
        (basic(number, date(1990, 5, 5)), 422, "kyc.birthday_mismatch"),
        (basic(number, born, "male"), 422, "kyc.sex_mismatch"),
        (basic(number, born, "other"), 422, "kyc.sex_invalid"),
        ({**basic(number, born), "birthday": "1990/05/04x"}, 422, "kyc.birthday_invalid"),
        ({**basic(number, born), "birthday": "１９９０-05-04"}, 422, "kyc.birthday_invalid"),
        (basic(number, born, name="王2"), 422, "kyc.name_invalid"),
        (basic(number, born, name="<b>x</b>"), 422, "kyc.name_invalid"),
        (basic(id_number(sixteen_tomorrow), sixteen_tomorrow), 422, "kyc.too_young"),
        (basic(id_number(tomorrow), tomorrow), 422, "kyc.id_invalid"),  # born in the future
    ]
    app.state.settings.kyc.basic_attempts_per_day = len(cases) + 1  # the limit: tested below
    for payload, status, code in cases:
        r = await client.post(f"{API}/basic", json=payload, headers=h)
        assert (r.status_code, r.json()["code"]) == (status, code), payload
        assert r.headers["content-type"].startswith("application/problem+json")
    body = (await client.get(API, headers=h)).json()
    assert (body["tier"], body["identity"]) == (0, None)
    async with app.state.db.session() as s:
        assert (await s.execute(select(KycIdentity))).first() is None
        user = (await s.execute(select(User).where(User.phone == e164(phone)))).scalar_one()
        assert (user.kyc_tier, user.birthday) == (0, None)
    r = await client.post(f"{API}/basic", json=basic(number, born), headers=h)
    assert r.status_code == 200, r.text

    # Exactly sixteen today: old enough.
    _, token2 = await sign_up(client, app)
    young = id_number(sixteen_today)
    r = await client.post(f"{API}/basic", json=basic(young, sixteen_today), headers=bearer(token2))
    assert r.status_code == 200, r.text

    # The same number on another account: refused, nothing stored for the second account.
    _, token3 = await sign_up(client, app)
    r = await client.post(f"{API}/basic", json=basic(number, born), headers=bearer(token3))
    assert (r.status_code, r.json()["code"]) == (409, "kyc.id_in_use")
    assert number not in r.text
    body = (await client.get(API, headers=bearer(token3))).json()
    assert (body["tier"], body["identity"]) == (0, None)
    async with app.state.db.session() as s:
        assert len((await s.execute(select(KycIdentity))).scalars().all()) == 2


async def test_refused_tier1_attempts_are_limited_so_numbers_cannot_be_probed(client, app, clock):
    clock.freeze(datetime(2026, 6, 15, 4, 0, tzinfo=UTC))
    born = date(1990, 5, 4)
    taken = id_number(born)
    _, owner = await sign_up(client, app)
    r = await client.post(f"{API}/basic", json=basic(taken, born), headers=bearer(owner))
    assert r.status_code == 200, r.text
    _, prober = await sign_up(client, app)
    h = bearer(prober)
    limit = app.state.settings.kyc.basic_attempts_per_day
    for _ in range(limit):  # "in use": the answer a prober looks for
        r = await client.post(f"{API}/basic", json=basic(taken, born), headers=h)
        assert r.json()["code"] == "kyc.id_in_use"
    mine = id_number(date(1991, 7, 8))
    r = await client.post(f"{API}/basic", json=basic(mine, date(1991, 7, 8)), headers=h)
    assert (r.status_code, r.json()["code"]) == (429, "kyc.too_many_attempts")
    clock.advance(hours=24, seconds=1)
    r = await client.post(f"{API}/basic", json=basic(mine, date(1991, 7, 8)), headers=h)
    assert r.status_code == 200, r.text


async def test_tier1_refusal_leaves_the_user_as_it_was(client, app):
    _phone, token = await sign_up(client, app, real_name="李雷")
    h = bearer(token)
    born = date(1992, 2, 29)
    r = await client.post(f"{API}/basic", json=basic(id_number(born), born, "male"), headers=h)
    assert r.json()["code"] == "kyc.sex_mismatch"
    me = (await client.get("/api/v1/me", headers=h)).json()
    assert (me["kyc_tier"], me["real_name"]) == (0, "李雷")
    assert (await client.get(API, headers=h)).json()["identity"] is None


# -- tier 2: the photos -------------------------------------------------------------------------
async def test_photos_are_checked_by_content_and_size_and_refusals_store_nothing(client, app):
    _phone, token = await sign_up(client, app)
    h = bearer(token)
    r = await put(client, h, "id_front", jpeg())
    assert (r.status_code, r.json()["code"]) == (409, "kyc.tier1_first")

    u = await verified_user(client, app)
    h = u["h"]
    pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
    refusals = [
        (pdf, "statement.pdf", 422, "kyc.not_an_image"),
        ("这不是照片，只是文字。".encode(), "photo.jpg", 422, "kyc.not_an_image"),
        (b"", "empty.jpg", 422, "kyc.not_an_image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "broken.jpg", 422, "kyc.not_an_image"),
        (png_bomb(), "bomb.png", 422, "kyc.image_too_large"),
        # Over the kyc cap (8 MB) but under the request guard's (10 MB): refused while read.
        (b"\xff\xd8\xff" + b"\x00" * (9 * 1024 * 1024), "big.jpg", 422, "kyc.file_too_large"),
    ]
    for data, name, status, code in refusals:
        r = await put(client, h, "id_front", data, name)
        assert (r.status_code, r.json()["code"]) == (status, code), name
    r = await put(client, h, "passport", jpeg())
    assert (r.status_code, r.json()["code"]) == (404, "kyc.document_unknown")
    # 50 MB: the request guard refuses the body before anything reads it.
    r = await client.put(
        f"{API}/documents/id_front",
        files={"file": ("huge.jpg", b"\xff\xd8\xff" + b"\x00" * (50 * 1024 * 1024), "image/jpeg")},
        headers=h,
    )
    assert (r.status_code, r.json()["code"]) == (413, "request.too_large")
    body = (await client.get(API, headers=h)).json()
    assert body["application"] is None and body["next_step"] == "documents"
    async with app.state.db.session() as s:
        assert (await s.execute(select(KycApplication))).first() is None
        assert (await s.execute(select(KycDocument))).first() is None

    # PNG (with transparency) and WebP are accepted whatever the file is called.
    rgba = io.BytesIO()
    Image.new("RGBA", (400, 250), (0, 0, 255, 0)).save(rgba, "PNG")
    webp = io.BytesIO()
    Image.new("RGB", (3000, 1000), (10, 200, 10)).save(webp, "WEBP")
    assert (await put(client, h, "id_front", rgba.getvalue(), "card.txt")).status_code == 200
    r = await put(client, h, "id_back", webp.getvalue(), "back")
    assert r.status_code == 200, r.text
    docs = {d["kind"]: d for d in r.json()["application"]["documents"]}
    assert (docs["id_front"]["width"], docs["id_front"]["height"]) == (400, 250)
    assert (docs["id_back"]["width"], docs["id_back"]["height"]) == (2000, 667)  # scaled down
    assert r.json()["application"]["missing"] == ["selfie"]
    assert r.json()["next_step"] == "documents"
    r = await client.post(f"{API}/submit", headers=h)
    assert (r.status_code, r.json()["code"]) == (409, "kyc.documents_missing")


async def test_metadata_is_stripped_orientation_applied_and_photos_sealed(client, app):
    u = await verified_user(client, app)
    original = gps_jpeg()
    with Image.open(io.BytesIO(original)) as im:  # the test photo really carries all that
        assert im.getexif().get_ifd(0x8825) and im.info.get("icc_profile")
    r = await put(client, u["h"], "id_front", original)
    assert r.status_code == 200, r.text
    async with app.state.db.session() as s:
        doc = (await s.execute(select(KycDocument))).scalar_one()
        await s.refresh(doc, ["image_sealed"])
        stored = kyc.open_document(app.state.settings, doc)
        raw = (
            await s.execute(text("SELECT convert_to(image_sealed, 'UTF8') FROM kyc_documents"))
        ).scalar_one()
    assert stored.startswith(b"\xff\xd8\xff")
    with Image.open(io.BytesIO(stored)) as im:
        assert im.size == (200, 300)  # turned upright
        assert not im.getexif() and "icc_profile" not in im.info and "exif" not in im.info
    for marker in (b"Exif", b"PhoneMaker", b"ICC_PROFILE", b"http://ns.adobe.com/xap"):
        assert marker not in stored
    # Sealed: the database holds an AES-GCM token, no JPEG.
    assert b"\xff\xd8\xff" not in raw and not raw.startswith(b"/9j/") and raw.startswith(b"v1.")


# -- the review ---------------------------------------------------------------------------------
async def test_approval_lifts_the_tier_and_the_limits_and_is_audited(client, app):
    u = await submitted(client, app)
    limits = (await client.get("/api/v1/wallet/limits", headers=u["h"])).json()
    single = {row["channel"]: row["single_max"]["amount"] for row in limits}
    assert single["transfer"] == "20000.00"  # tier 1
    body = (await client.get(API, headers=u["h"])).json()
    assert (body["next_step"], body["application"]["status"]) == ("wait", "submitted")
    r = await put(client, u["h"], "selfie", jpeg())
    assert (r.status_code, r.json()["code"]) == (409, "kyc.under_review")

    # A customer and an agent are refused in the console; a supervisor sees the queue.
    r = await client.get("/console/kyc", headers=u["h"])
    assert r.status_code == 403
    r = await client.get(f"/console/kyc/{u['app']}/documents/selfie", headers=u["h"])
    assert r.status_code == 403
    agent = await supervisor(client, app, role="support_agent")
    for path in (
        "/console/kyc",
        f"/console/kyc/{u['app']}",
        f"/console/kyc/{u['app']}/documents/id_front",
    ):
        r = await client.get(path, headers=agent["h"])
        assert r.status_code == 403, path
    r = await decide(client, agent, u["app"], decision="approve")
    assert r.status_code == 403
    op = await supervisor(client, app)
    r = await client.get("/console/kyc", headers=op["h"])
    assert r.status_code == 200 and u["app"] in r.text and u["number"] not in r.text
    masked = u["number"][:4] + "*" * 10 + u["number"][-4:]
    assert masked in r.text
    r = await client.get(f"/console/kyc/{u['app']}", headers=op["h"])
    assert r.status_code == 200 and masked in r.text and u["number"] not in r.text
    assert "王小红" in r.text and "1990" in r.text
    r = await client.get(f"/console/kyc/{u['app']}/documents/selfie", headers=op["h"])
    assert r.status_code == 200 and r.content.startswith(b"\xff\xd8\xff")
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "no-store"

    r = await decide(client, op, u["app"], decision="approve")
    assert (r.status_code, r.headers["location"]) == (303, "/console/kyc?notice=approved")
    body = (await client.get(API, headers=u["h"])).json()
    assert (body["tier"], body["next_step"], body["application"]["status"]) == (
        2,
        "done",
        "approved",
    )
    limits = (await client.get("/api/v1/wallet/limits", headers=u["h"])).json()
    assert {row["channel"]: row["single_max"]["amount"] for row in limits}["transfer"] == "50000.00"
    r = await decide(client, op, u["app"], decision="reject", reason="expired")
    assert r.status_code == 409  # decided already
    r = await put(client, u["h"], "selfie", jpeg())
    assert (r.status_code, r.json()["code"]) == (409, "kyc.already_verified")

    async with app.state.db.session() as s:
        entries = (
            await s.execute(select(AuditEntry).where(AuditEntry.subject_user_id == u["id"]).order_by(AuditEntry.id))
        ).scalars().all()  # fmt: skip
        shown = await inbox.inbox(s, u["id"], "zh_CN")
        user_locale = (await s.get(User, u["id"])).locale
    assert [(e.action, e.actor_id) for e in entries] == [
        ("kyc.viewed", op["id"]),
        ("kyc.document_viewed", op["id"]),
        ("kyc.approved", op["id"]),
    ]
    assert entries[1].details == {"document": "selfie"}
    assert entries[2].object_id == u["app"] and entries[2].details["tier"] == 2
    assert [(n.link, n.text) for n in shown] == [
        ("/me/verify", render("kyc.approved", "sms", "zh_CN", {}).text)
    ]
    await deliver(app)
    told = render("kyc.approved", "sms", user_locale, {}).text
    assert told in sms_messages(app, e164(u["phone"]))
    r = await client.get("/console/audit?action=kyc.approved", headers=op["h"])
    assert "Approved an identity verification" in r.text


async def test_rejection_reason_reaches_the_user_and_they_may_start_again(client, app):
    u = await submitted(client, app)
    op = await supervisor(client, app)
    r = await decide(client, op, u["app"], decision="reject", reason="bogus")
    assert r.status_code == 422 and "Choose a reason from the list." in r.text
    r = await decide(client, op, u["app"], decision="reject", reason="other", note="  ")
    assert r.status_code == 422
    r = await decide(
        client, op, u["app"], decision="reject", reason="expired", note="有效期到 2019 年。"
    )
    assert r.status_code == 303
    zh = (await client.get(API, headers={**u["h"], "Accept-Language": "zh-CN"})).json()
    en = (await client.get(API, headers={**u["h"], "Accept-Language": "en"})).json()
    assert zh["application"]["status"] == "rejected" and zh["tier"] == 1
    assert en["application"]["reason"] == {"code": "expired", "text": "The ID card has expired."}
    assert zh["application"]["reason"]["code"] == "expired"
    assert zh["application"]["reason"]["text"] != "The ID card has expired."  # translated
    assert zh["application"]["note"] == "有效期到 2019 年。"
    assert zh["next_step"] == "documents"
    # New photos start a new application; the rejected one stays as it was.
    r = await put(client, u["h"], "id_front", jpeg())
    assert r.status_code == 200
    new = r.json()["application"]
    assert (
        new["status"] == "draft"
        and new["id"] != u["app"]
        and new["missing"] == ["id_back", "selfie"]
    )
    async with app.state.db.session() as s:
        statuses = sorted((await s.execute(select(KycApplication.status))).scalars())
    assert statuses == ["draft", "rejected"]


async def test_a_new_photo_of_one_document(client, app):
    u = await submitted(client, app)
    before = {d["kind"]: d["uploaded_at"] for d in
              (await client.get(API, headers=u["h"])).json()["application"]["documents"]}  # fmt: skip
    op = await supervisor(client, app)
    r = await decide(
        client, op, u["app"], decision="resubmit", kind="selfie", reason="selfie",
        note="请让脸和证件都清晰可见。",
    )  # fmt: skip
    assert r.status_code == 303
    body = (await client.get(API, headers={**u["h"], "Accept-Language": "en"})).json()
    app_out = body["application"]
    assert (body["next_step"], app_out["status"], app_out["resubmit_document"]) == (
        "replace", "resubmit", "selfie",
    )  # fmt: skip
    assert (
        app_out["reason"]["text"]
        == "The selfie does not clearly show your face next to the ID card."
    )
    r = await client.post(f"{API}/submit", headers=u["h"])
    assert (r.status_code, r.json()["code"]) == (409, "kyc.replace_first")
    r = await put(client, u["h"], "id_front", jpeg())
    assert (r.status_code, r.json()["code"]) == (409, "kyc.only_requested_document")
    r = await put(client, u["h"], "selfie", jpeg((240, 320)))
    assert r.status_code == 200 and r.json()["next_step"] == "submit"
    r = await client.post(f"{API}/submit", headers=u["h"])
    assert r.status_code == 200
    again = r.json()["application"]
    assert (again["id"], again["status"], again["submissions"]) == (u["app"], "submitted", 2)
    after = {d["kind"]: d["uploaded_at"] for d in again["documents"]}
    assert after["id_front"] == before["id_front"] and after["id_back"] == before["id_back"]
    assert after["selfie"] != before["selfie"]
    async with app.state.db.session() as s:
        actions = (
            (await s.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars().all()
        )
    assert "kyc.resubmit_asked" in actions
    await deliver(app)
    async with app.state.db.session() as s:
        locale = (await s.get(User, u["id"])).locale
    told = render(
        "kyc.resubmit", "sms", locale,
        {"document": kyc.DOCUMENT_NAMES["selfie"], "reason": kyc_review.REASONS["selfie"]},
    ).text  # fmt: skip
    assert sms_messages(app, e164(u["phone"]))[-1] == told


async def test_another_user_sees_nothing_of_my_application(client, app):
    mine = await submitted(client, app)
    other = await verified_user(client, app)
    body = (await client.get(API, headers=other["h"])).json()
    assert body["application"] is None and mine["app"] not in str(body)
    for path in (f"/console/kyc/{mine['app']}", f"/console/kyc/{mine['app']}/documents/id_front"):
        r = await client.get(path, headers=other["h"])
        assert r.status_code == 403
    # Uploading does not touch the other's application.
    assert (await put(client, other["h"], "id_front", jpeg())).status_code == 200
    body = (await client.get(API, headers=mine["h"])).json()
    assert body["application"]["status"] == "submitted"


async def test_two_operators_deciding_at_once_make_one_decision(client, app):
    u = await submitted(client, app)
    ops = [await supervisor(client, app), await supervisor(client, app)]
    settings = app.state.settings

    async def one(op: dict, how: str) -> str:
        async with app.state.db.transaction() as s:
            staff = await s.get(User, op["id"])
            try:
                if how == "approve":
                    await console_kyc.approve(s, settings, staff, u["app"])
                else:
                    await console_kyc.reject(s, settings, staff, u["app"], reason="unreadable")
            except AlreadyDecided:
                return "refused"
            await asyncio.sleep(0.05)  # hold the row a moment: the other waits for it
            return how

    outcomes = await asyncio.gather(one(ops[0], "approve"), one(ops[1], "reject"))
    assert sorted(outcomes).count("refused") == 1
    decided = next(o for o in outcomes if o != "refused")
    async with app.state.db.session() as s:
        row = (await s.execute(select(KycApplication))).scalar_one()
        user = await s.get(User, u["id"])
        decisions = (
            (
                await s.execute(
                    select(AuditEntry.action).where(
                        AuditEntry.action.in_(("kyc.approved", "kyc.rejected"))
                    )
                )
            )
            .scalars()
            .all()
        )
    assert row.status == {"approve": "approved", "reject": "rejected"}[decided]
    assert user.kyc_tier == (2 if decided == "approve" else 1)
    assert len(decisions) == 1
    with pytest.raises(AlreadyDecided):
        async with app.state.db.transaction() as s:
            await kyc_review.approve(s, settings, u["app"], by=ops[0]["id"])


async def test_require_tier(client, app):
    u = await verified_user(client, app)
    async with app.state.db.session() as s:
        user = await s.get(User, u["id"])
        await kyc.require_tier(s, user, 1)
        with pytest.raises(Exception) as refused:
            await kyc.require_tier(s, user, 2)
    assert refused.value.code == "kyc.tier_required"  # type: ignore[attr-defined]


async def test_the_demo_data_is_idempotent(app, monkeypatch, tmp_path):
    """Li Mei at level 2 with an approved application, 张三 at level 0, 王芳 waiting in the
    queue; a second run changes nothing."""
    from qianbao.identity import demo as identity_demo
    from qianbao.settings import get_settings
    from qianbao.support.console import demo_kyc

    monkeypatch.setenv("QIANBAO_ENVIRONMENT", "test")
    monkeypatch.setenv("QIANBAO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QIANBAO_SECURITY__SECRET_KEY", "demo-test-secret-key-0123456789abcdef")
    monkeypatch.setenv("QIANBAO_SMS__OUTBOX_PATH", str(tmp_path / "sms.jsonl"))
    get_settings.cache_clear()
    db = app.state.db
    try:
        await identity_demo.load(db)
        for _ in range(2):
            logins = await demo_kyc.load(db)
            async with db.session() as s:
                counts = {
                    t: (await s.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()
                    for t in ("kyc_identities", "kyc_applications", "kyc_documents", "audit_log")
                }
                li = await by_phone(s, "+8613900139000")
                zhang = await by_phone(s, "+8613800138000")
                wang = await by_phone(s, "+8613400134000")
                waiting = await kyc_review.queue(s)
            assert (li.kyc_tier, zhang.kyc_tier, wang.kyc_tier) == (2, 0, 1)
            assert [w.user.id for w in waiting] == [wang.id]
            assert counts["kyc_identities"] == 2 and counts["kyc_applications"] == 2
            assert counts["kyc_documents"] == 6
            assert logins[0].login == "13400134000"
    finally:
        get_settings.cache_clear()
    assert "kyc" in [name for _, name, _ in _loaders]
