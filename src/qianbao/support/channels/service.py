"""The official-channel registry (D6): defaults from the settings, operators' additions and
deactivations, staff agent ids, and the public lookup "is this really Qianbao?".

A lookup answers yes (with the channel's label) or no, nothing else: no hint of near matches,
of deactivated channels or of who added what. Lookups are counted per client IP in fixed
windows (``support.verify_max_lookups`` per ``support.verify_window_s``) in a table, so the
limit holds across processes and restarts without another moving part.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from qianbao.identity.models import STAFF_ROLES, User
from qianbao.kernel.clock import clock_of
from qianbao.kernel.hant import zh_text
from qianbao.kernel.i18n import N_
from qianbao.settings import SupportSettings
from qianbao.support.channels import normalize
from qianbao.support.channels import repository as repo
from qianbao.support.channels.errors import (
    ChannelExists,
    ChannelInvalid,
    ChannelNotFound,
    LookupLimit,
)
from qianbao.support.channels.models import KINDS, OfficialChannel

OPERATOR_KINDS = tuple(k for k in KINDS if k != "agent_id")  # agent ids come from staff
KIND_NAMES = {
    "phone": N_("Phone number"),
    "website": N_("Website"),
    "email": N_("E-mail address"),
    "social": N_("Social media account"),
    "agent_id": N_("Agent id"),
}


@dataclass(frozen=True)
class Answer:
    """The whole answer of a lookup: official or not, and if official its kind and label."""

    official: bool
    kind: str | None = None
    label_zh: str | None = None
    label_en: str | None = None

    def label(self, locale: str) -> str | None:
        if locale == "en" or self.label_zh is None:
            return self.label_en if locale == "en" else self.label_zh
        return zh_text(self.label_zh, locale)


NOT_OURS = Answer(official=False)


# -- defaults from the settings ----------------------------------------------------------------
ZH_PLATFORMS = {"wechat": "微信", "weibo": "微博"}  # names Chinese readers use


def default_rows(cfg: SupportSettings, region: str) -> list[dict[str, Any]]:
    """The channels the settings declare (hotline, e-mail, website, social accounts)."""
    wanted: list[tuple[str, str, str, str]] = [
        ("phone", cfg.hotline, "客服热线", "Customer service hotline"),
        ("email", cfg.email, "客服邮箱", "Customer service e-mail"),
        ("website", cfg.website, "官方网站", "Official website"),
    ]
    for platform, handle in cfg.social_accounts.items():
        wanted.append(
            (
                "social",
                f"{platform}:{handle}",
                f"{ZH_PLATFORMS.get(platform.lower(), platform)} 官方账号 {handle}",
                f"Official {platform} account {handle}",
            )
        )
    rows = []
    for kind, raw, label_zh, label_en in wanted:
        value = normalize.normalize(kind, raw, region) if raw else None
        if value:
            rows.append(
                {
                    "kind": kind,
                    "value": value,
                    "label_zh": label_zh,
                    "label_en": label_en,
                    "source": "settings",
                }
            )
    return rows


async def ensure_defaults(s: Any, cfg: SupportSettings, region: str = "CN") -> None:
    """Insert the settings' channels that are missing. Never updates a row: a channel an
    operator deactivated stays deactivated. One INSERT … ON CONFLICT DO NOTHING."""
    await repo.insert_channels_missing(s, default_rows(cfg, region))


# -- the public lookup -------------------------------------------------------------------------
async def check_rate(
    s: Any, ip: str | None, cfg: SupportSettings, now: datetime | None = None
) -> None:
    """Count one lookup for this client IP; refuse beyond the window's allowance."""
    if cfg.verify_max_lookups <= 0:
        return
    now = now or clock_of(s).now()
    window = max(cfg.verify_window_s, 1)
    start = datetime.fromtimestamp(int(now.timestamp()) // window * window, UTC)
    count = await repo.count_lookup(s, (ip or "unknown")[:64], start)
    if count == 1:  # a new window: forget the old ones
        await repo.prune_counters(s, start - timedelta(seconds=window))
    if count > cfg.verify_max_lookups:
        raise LookupLimit()


async def lookup(s: Any, raw: str, *, region: str = "CN") -> Answer:
    """Is ``raw`` (a phone number, website, e-mail address, social account or agent id, in any
    usual spelling) one of our active channels? An agent id is ours only while its staff
    account exists, still has a staff role and is not frozen."""
    pairs = normalize.candidates(raw, region)
    found = await repo.matching(s, pairs)
    if not found:
        return NOT_OURS
    order = {kind: i for i, (kind, _) in enumerate(pairs)}
    found.sort(key=lambda c: order.get(c.kind, len(order)))
    best = found[0]
    if best.kind != "agent_id":
        return Answer(True, best.kind, best.label_zh, best.label_en)
    for _, user in await repo.agents_by_id(s, [best.value]):
        if user.role in STAFF_ROLES and user.frozen_at is None:
            return Answer(True, "agent_id", *agent_labels(user, best.value))
    return NOT_OURS


# -- staff agent ids ---------------------------------------------------------------------------
def agent_labels(user: User, agent_id: str) -> tuple[str, str]:
    name = (user.real_name or "").strip()
    return (
        f"客服 {name}（工号 {agent_id}）" if name else f"客服（工号 {agent_id}）",
        f"Customer service agent {name} ({agent_id})" if name else f"Agent {agent_id}",
    )


def _new_agent_id() -> str:
    return f"QB-{100_000 + secrets.randbelow(900_000)}"


async def agent_id_for(s: Any, user_id: uuid.UUID) -> str:
    """The staff member's public agent id, given (and registered as an official channel of kind
    agent_id) the first time it is asked for."""
    existing = await repo.agent_id_of(s, user_id)
    if existing is not None:
        return existing
    user = await repo.user(s, user_id)
    if user is None or user.role not in STAFF_ROLES:
        raise ChannelNotFound()
    for _ in range(20):
        candidate = _new_agent_id()
        if await repo.insert_agent_id(s, user_id, candidate):
            label_zh, label_en = agent_labels(user, candidate)
            await repo.insert_channels_missing(
                s,
                [
                    {
                        "kind": "agent_id",
                        "value": candidate,
                        "label_zh": label_zh,
                        "label_en": label_en,
                        "source": "staff",
                    }
                ],
            )
            return candidate
        existing = await repo.agent_id_of(s, user_id)
        if existing is not None:  # given concurrently
            return existing
    raise RuntimeError("no free agent id")  # pragma: no cover (900 000 ids)


async def ensure_agent_ids(s: Any) -> None:
    """Every staff member has an agent id (the console lists them)."""
    for user_id in await repo.staff_without_agent_id(s):
        await agent_id_for(s, user_id)


@dataclass(frozen=True)
class AgentContact:
    """An agent talking to a user right now: what chat shows ('Agent Wu, QB-123456')."""

    name: str
    agent_id: str
    channel: str  # "chat", "phone", …
    since: datetime


async def active_agent_contacts(s: Any, user_id: uuid.UUID) -> list[AgentContact]:
    """Agents in a live conversation with this user right now (the live chat's assigned agent);
    empty means /verify tells a signed-in user plainly that nobody from Qianbao is talking to
    them. (Imported here, not at the top: the chat package itself uses this module.)"""
    from qianbao.support.chat import contacts

    return await contacts.active_agent_contacts(s, user_id)


# -- registry management (operators) -----------------------------------------------------------
async def channels(s: Any) -> list[OfficialChannel]:
    await ensure_agent_ids(s)
    return await repo.channels(s)


def _clean_label(text: str, name: str) -> str:
    text = " ".join(text.split())
    if not text or len(text) > 200:
        raise ChannelInvalid(problem=name)
    return text


async def add_channel(
    s: Any,
    *,
    kind: str,
    value: str,
    label_zh: str,
    label_en: str,
    actor: uuid.UUID,
    region: str = "CN",
) -> OfficialChannel:
    """Add a channel (or reactivate a deactivated one with the new labels)."""
    if kind not in OPERATOR_KINDS:
        raise ChannelInvalid(
            problem=N_("choose phone, website, e-mail or social account (agent ids are automatic)")
        )
    normal = normalize.normalize(kind, value[:2000], region)
    if normal is None:
        raise ChannelInvalid(problem=N_("this is not a valid value for the chosen kind"))
    zh = _clean_label(label_zh, N_("the Chinese label is missing or too long"))
    en = _clean_label(label_en, N_("the English label is missing or too long"))
    existing = await repo.channel_by_value(s, kind, normal)
    now = clock_of(s).now()
    if existing is not None:
        if existing.active:
            raise ChannelExists()
        existing.active, existing.label_zh, existing.label_en = True, zh, en
        existing.updated_by, existing.updated_at = actor, now
        await s.flush()
        return existing
    channel = OfficialChannel(
        kind=kind,
        value=normal,
        label_zh=zh,
        label_en=en,
        active=True,
        source="operator",
        created_by=actor,
        created_at=now,
        updated_by=actor,
        updated_at=now,
    )
    s.add(channel)
    await s.flush()
    return channel


async def deactivate(s: Any, channel_id: uuid.UUID | str, *, actor: uuid.UUID) -> OfficialChannel:
    """From now on lookups answer 'not ours' for this channel."""
    try:
        ident = channel_id if isinstance(channel_id, uuid.UUID) else uuid.UUID(str(channel_id))
    except ValueError:
        raise ChannelNotFound() from None
    channel = await repo.channel(s, ident, lock=True)
    if channel is None:
        raise ChannelNotFound()
    if channel.active:
        channel.active = False
        channel.updated_by, channel.updated_at = actor, clock_of(s).now()
        await s.flush()
    return channel
