"""Demo users for `make run` (idempotent): two wallet users, a support agent, a supervisor and
an admin (finance).

The agent's authenticator secret is fixed and printed, so a newcomer can sign in with any TOTP
app (or `python -c "import pyotp; print(pyotp.TOTP('<secret>').now())"`)."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from sqlalchemy import select

from qianbao.demo import DemoLogin, demo_loader
from qianbao.identity.context import IdentityContext, token_hash
from qianbao.identity.models import Device, User
from qianbao.identity.passwords import hash_password
from qianbao.identity.phones import normalize_phone
from qianbao.kernel.db import Database

DEMO_PASSWORD = "qianbao demo 2026"  # noqa: S105 - printed demo login, not a secret
AGENT_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"  # noqa: S105 - demo only
USERS = [
    ("13800138000", "张三", date(1990, 5, 4), "user", "zh_CN"),
    ("13900139000", "Li Mei", date(1988, 11, 23), "user", "en"),
    ("13700137000", "客服小王", None, "support_agent", "zh_CN"),
    ("13600136000", "主管小李", None, "supervisor", "zh_CN"),
    # The second pair of eyes for four-eyes money decisions (the bank's suspense queue).
    ("13300133000", "财务小陈", None, "admin", "zh_CN"),
]


@demo_loader("identity", order=10)
async def load(db: Database) -> list[DemoLogin]:
    from qianbao.settings import get_settings

    ctx = IdentityContext(settings=get_settings(), db=db, clock=db.clock)
    logins: list[DemoLogin] = []
    async with db.transaction() as session:
        for number, name, birthday, role, locale in USERS:
            phone = normalize_phone(number, "CN")
            user = (
                await session.execute(select(User).where(User.phone == phone))
            ).scalar_one_or_none()
            if user is None:
                user = User(
                    phone=phone,
                    password_hash=await hash_password(DEMO_PASSWORD),
                    real_name=name,
                    birthday=birthday,
                    role=role,
                    locale=locale,
                )
                session.add(user)
                await session.flush()
                if role == "user":
                    # The phone they always use, for three months: a browser signing in to the
                    # demo is a new device, so the risk rules hold a large transfer from it.
                    seen = ctx.clock.now() - timedelta(days=90)
                    session.add(
                        Device(
                            user_id=user.id,
                            token_hash=token_hash(secrets.token_urlsafe(32)),
                            name="Demo phone",
                            first_seen_at=seen,
                            last_seen_at=seen,
                        )
                    )
                else:
                    user.totp_secret = ctx.totp_sealer.seal(
                        AGENT_TOTP_SECRET.encode(), aad=str(user.id).encode()
                    )
                    user.totp_enabled_at = ctx.clock.now()
            note = f"TOTP secret {AGENT_TOTP_SECRET}" if role != "user" else name
            logins.append(DemoLogin(role=role, login=number, password=DEMO_PASSWORD, note=note))
    return logins
