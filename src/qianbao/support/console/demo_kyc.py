"""Demo data for identity verification (A8), idempotent:

- Li Mei (13900139000) is verified at level 2: name and ID number, three photos, approved by the
  demo supervisor (in the audit log, and in her Messages);
- 张三 (13800138000) stays at level 0: the page shows the first step;
- 王芳 (13400134000, same password and PIN as the others) is at level 1 with an application
  sent for review, waiting in /console/kyc.

The ID numbers are made up (a valid check digit, so the forms accept them), and the photos are
drawn here, clearly marked "SAMPLE 样本", of nobody.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from stdnum.cn import ric

from qianbao.demo import DemoLogin, demo_loader
from qianbao.identity import kyc
from qianbao.identity import pin as identity_pin
from qianbao.identity.accounts import by_phone
from qianbao.identity.context import IdentityContext
from qianbao.identity.demo import DEMO_PASSWORD
from qianbao.identity.kyc_id import SEX_NAMES, mask
from qianbao.identity.models import User
from qianbao.identity.models_kyc import KycApplication, KycIdentity
from qianbao.identity.passwords import hash_password
from qianbao.kernel.db import Database
from qianbao.support.console import kyc as console_kyc
from qianbao.wallet.demo import DEMO_PIN

LI, WANG, SUPERVISOR = "+8613900139000", "+8613400134000", "+8613600136000"
NEW_USER = ("13400134000", "王芳", date(1995, 3, 8), "F")
# Made-up numbers: a real region code, the person's birthday, a sequence of the right parity.
ID_BODIES = {LI: "11010519881123002", WANG: "31010419950308004"}
FONTS = (
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJK-Bold.ttc",
    "NotoSerifCJK-Regular.ttc",
    "wqy-microhei.ttc",
    "wqy-zenhei.ttc",
    "DroidSansFallbackFull.ttf",
)


def _id_number(phone: str) -> str:
    body = ID_BODIES[phone]
    return body + ric.calc_check_digit(body + "0")


class _Bytes:
    """An in-memory photo read like an upload."""

    def __init__(self, data: bytes) -> None:
        self._io = io.BytesIO(data)

    async def read(self, size: int = -1) -> bytes:
        return self._io.read(size)


def _font(size: int) -> Any:
    for name in FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def _sample(size: tuple[int, int], background: str) -> tuple[Image.Image, Any]:
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, size[0] - 5, size[1] - 5), outline="#8aa0b8", width=4)
    return image, draw


def _stamp(image: Image.Image) -> None:
    """ "SAMPLE 样本" across the picture, in red."""
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    ImageDraw.Draw(layer).text(
        (image.width // 2, image.height // 2),
        "SAMPLE 样本",
        font=_font(image.width // 7),
        fill=(200, 16, 46, 170),
        anchor="mm",
    )
    turned = layer.rotate(18)
    image.paste(turned, mask=turned)


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def photos(name: str, number: str, born: date, sex: str) -> dict[str, bytes]:
    """The three sample photos of a made-up person."""
    front, draw = _sample((856, 540), "#eef3f8")
    small, big = _font(26), _font(34)
    sex_zh = "男" if sex == "M" else "女"
    lines = [
        ("姓名 Name", name),
        ("性别 Sex", sex_zh),
        ("出生 Born", f"{born.year} 年 {born.month} 月 {born.day} 日"),
        ("住址 Address", "样本市示例路 1 号"),
    ]
    for i, (label, value) in enumerate(lines):
        draw.text((50, 60 + i * 70), label, font=small, fill="#5b6b7b")
        draw.text((230, 54 + i * 70), value, font=big, fill="#1b2733")
    draw.text((50, 440), "公民身份号码", font=small, fill="#5b6b7b")
    draw.text((230, 432), mask(number), font=big, fill="#1b2733")
    draw.rectangle((600, 70, 800, 330), fill="#d5dde6")
    draw.ellipse((650, 110, 750, 210), fill="#aab7c4")
    draw.ellipse((615, 220, 785, 380), fill="#aab7c4")
    _stamp(front)
    back, draw = _sample((856, 540), "#f4f1e8")
    draw.ellipse((60, 50, 200, 190), outline="#c8102e", width=6)
    draw.text((260, 80), "中华人民共和国", font=big, fill="#1b2733")
    draw.text((260, 140), "居民身份证", font=_font(48), fill="#1b2733")
    draw.text((60, 380), "签发机关 样本公安局", font=small, fill="#1b2733")
    draw.text((60, 430), "有效期限 2020.01.01-2040.01.01", font=small, fill="#1b2733")
    _stamp(back)
    selfie, draw = _sample((600, 800), "#e9eef2")
    draw.ellipse((200, 120, 400, 360), fill="#c9b8a6")
    draw.ellipse((130, 380, 470, 800), fill="#7d93a8")
    draw.rectangle((330, 470, 560, 620), fill="#eef3f8", outline="#8aa0b8", width=3)
    draw.text((345, 490), name, font=small, fill="#1b2733")
    _stamp(selfie)
    return {"id_front": _jpeg(front), "id_back": _jpeg(back), "selfie": _jpeg(selfie)}


async def _ensure_user(session: Any, ctx: IdentityContext) -> User:
    _number, name, birthday, _ = NEW_USER
    user = await by_phone(session, WANG)
    if user is None:
        user = User(
            phone=WANG,
            password_hash=await hash_password(DEMO_PASSWORD),
            real_name=name,
            birthday=birthday,
            role="user",
            locale="zh_CN",
        )
        session.add(user)
        await session.flush()
    if user.pin_hash is None:
        await identity_pin.set_pin(session, ctx, user, DEMO_PIN)
    return user


async def _verified(session: Any, ctx: IdentityContext, user: User, sex: str) -> KycIdentity:
    found: KycIdentity | None = await session.get(KycIdentity, user.id)
    if found is not None:
        return found
    assert user.birthday is not None
    await kyc.verify_basic(
        session,
        ctx,
        user,
        real_name=user.real_name or "",
        id_number=_id_number(user.phone),
        birthday=user.birthday.isoformat(),
        sex=SEX_NAMES[sex],
    )
    identity: KycIdentity = await session.get(KycIdentity, user.id)
    return identity


async def _submitted(session: Any, ctx: IdentityContext, user: User, sex: str) -> KycApplication:
    """The user's application with the three sample photos, sent for review (or as it is)."""
    app = (
        await session.execute(
            select(KycApplication)
            .where(KycApplication.user_id == user.id)
            .order_by(KycApplication.created_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if app is not None and app.status != "draft":
        return app
    assert user.birthday is not None
    pictures = photos(user.real_name or "", _id_number(user.phone), user.birthday, sex)
    for kind, data in pictures.items():
        await kyc.upload(session, ctx, user, kind, _Bytes(data))
    return await kyc.submit(session, user)


@demo_loader("kyc", order=45)
async def load(db: Database) -> list[DemoLogin]:
    from qianbao.settings import get_settings

    settings = get_settings()
    ctx = IdentityContext(settings=settings, db=db, clock=db.clock)
    async with db.transaction() as session:
        li = await by_phone(session, LI)
        supervisor = await by_phone(session, SUPERVISOR)
        if li is None or supervisor is None:
            return []
        await _verified(session, ctx, li, "F")
        app = await _submitted(session, ctx, li, "F")
        if app.status == "submitted":
            await console_kyc.approve(session, settings, supervisor, str(app.id))
        wang = await _ensure_user(session, ctx)
        await _verified(session, ctx, wang, NEW_USER[3])
        await _submitted(session, ctx, wang, NEW_USER[3])
    return [
        DemoLogin(
            role="user",
            login=NEW_USER[0],
            password=DEMO_PASSWORD,
            note=f"{NEW_USER[1]}, identity verification waiting in /console/kyc (PIN {DEMO_PIN})",
        )
    ]
