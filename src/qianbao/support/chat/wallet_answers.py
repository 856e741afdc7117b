"""The bot's answers from the customer's own wallet (signed in only): a pending top-up, a USDT
deposit waiting for confirmations, a withdrawal's stage and expected date, a payment held by the
risk checks, a locked payment PIN — with the real amounts and times (China time), and the
action to take as a relative link. Nothing pending: said so, with the latest such transaction.

Every read goes through the wallet's and identity's own services with the conversation's user
id (history, top-ups, withdrawals, held transfers, USDT deposits, the user): nobody else's row
can come back. The text is written once, in the conversation's language, when the answer is
made (a chat message keeps what it said)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from qianbao.identity import accounts
from qianbao.kernel.money import CURRENCIES
from qianbao.kernel.translations import gettext
from qianbao.support.chat import bot_intents as topics
from qianbao.support.chat.bot_wallet_texts import STAGE_NOTES, STAGES, T
from qianbao.wallet import chain_deposits, held, history, topup, withdraw
from qianbao.wallet.bank_reference import reference_of
from qianbao.wallet.errors import TopupNotFound, WithdrawalNotFound
from qianbao.wallet.export import STATUS_LABELS
from qianbao.wallet.topup_methods import LABELS as METHOD_LABELS

MAX_ITEMS = 3  # of one kind


@dataclass
class Item:
    """One thing of the customer's: a title, facts (label, value), sentences, actions."""

    topic: str
    title: str
    facts: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)
    pending: bool = False  # something in progress (not "nothing pending")

    def as_data(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "title": self.title,
            "facts": self.facts,
            "notes": self.notes,
            "links": self.links,
        }


class Speaker:
    """Words, money and times in one language, as the pages write them."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def __call__(self, message: str, **params: Any) -> str:
        return gettext(self.locale, message, **params)

    def money(self, minor: int, currency: str) -> str:
        """'¥1,234.56' (as ``web.formatting.format_money``); USDT as '12.500000 USDT'."""
        exponent = CURRENCIES[currency].exponent
        value = Decimal(minor).scaleb(-exponent)
        if currency == "USDT":
            shown = format_decimal(value, format="#,##0." + "0" * exponent, locale=self.locale)
            return f"{shown} USDT"
        return format_currency(value, currency, locale=self.locale, currency_digits=True)

    def when(self, at: datetime) -> str:
        from qianbao.support.chat.texts import when

        return when(at, self.locale)

    def day(self, value: date) -> str:
        return format_date(value, "medium", locale=self.locale)

    def fact(self, label: str, value: str) -> dict[str, str]:
        return {"label": self(label), "value": value}

    def link(self, label: str, url: str) -> dict[str, str]:
        return {"label": self(label), "url": url}


# -- top-ups ---------------------------------------------------------------------------------
async def _topups(s: Any, cfg: Any, user_id: uuid.UUID, say: Speaker) -> list[Item]:
    pending = await history.list_transactions(
        s, user_id, history.Filters(kind="topup", status="pending"), limit=10
    )
    rows = [r for r in pending.rows if (r.details or {}).get("method") != "usdt"][:MAX_ITEMS]
    items = [await _topup(s, cfg, user_id, row, say) for row in rows]
    items += await _usdt(s, user_id, say, only_if_any=True)
    if items:
        return items
    item = Item(topics.TOPUP, say(T["topup_none"]))
    latest = await history.list_transactions(s, user_id, history.Filters(kind="topup"), limit=1)
    _latest(item, latest.rows, say)
    code = await reference_of(s, user_id)
    item.notes.append(say(T["bank_transfer"], code=code))
    item.links.append(say.link(T["bank_transfer_link"], "/wallet/bank-transfer"))
    return [item]


def _card(details: dict[str, Any], say: Speaker) -> str:
    """'中国工商银行 •••• 4242': a bank's name is a message id (the pages translate it too)."""
    bank = say(details["bank"]) if details.get("bank") else ""
    return f"{bank} {details.get('card', '')}".strip()


def _method(row: Any, say: Speaker) -> str:
    details = row.details or {}
    if details.get("card"):
        return _card(details, say)
    if details.get("channel") == "bank_transfer":
        return say(T["by_bank_transfer"])
    return say(METHOD_LABELS.get(details.get("method") or "card", METHOD_LABELS["card"]))


async def _topup(s: Any, cfg: Any, user_id: uuid.UUID, row: Any, say: Speaker) -> Item:
    method = _method(row, say)
    item = Item(topics.TOPUP, say(T["topup_pending"]), pending=True)
    item.facts += [
        say.fact(T["amount"], say.money(row.amount, row.currency)),
        say.fact(T["method"], method),
        say.fact(T["started"], say.when(row.created_at)),
    ]
    try:
        found = await topup.get(s, user_id, (row.details or {}).get("topup_id", ""))
    except TopupNotFound:
        found = None
    minutes = cfg.settings.payments.topup_expiry_minutes if cfg.settings else 30
    expires = row.created_at + timedelta(minutes=minutes)
    if cfg.now() < expires:
        item.facts.append(say.fact(T["expires"], say.when(expires)))
        details = row.details or {}
        payer = say(details["bank"]) if details.get("card") and details.get("bank") else method
        item.notes.append(say(T["topup_waiting"], method=payer, expires=say.when(expires)))
    else:
        item.notes.append(say(T["topup_expiring"]))
    item.facts.append(say.fact(T["reference"], row.reference))
    if found is not None:
        item.links.append(say.link(T["topup_link"], f"/wallet/topup/{found.id}"))
    else:
        item.links.append(say.link(T["tx_link"], f"/wallet/tx/{row.id}"))
    return item


def _latest(item: Item, rows: list[Any], say: Speaker, *, stage: str | None = None) -> None:
    if not rows:
        item.notes.append(say(T["never"]))
        return
    row = rows[0]
    status = say(STAGES[stage]) if stage else say(STATUS_LABELS.get(row.status, row.status))
    item.notes.append(
        say(
            T["latest"],
            amount=say.money(row.amount, row.currency),
            time=say.when(row.created_at),
            status=status,
        )
    )
    item.links.append(say.link(T["tx_link"], f"/wallet/tx/{row.id}"))


# -- USDT deposits ---------------------------------------------------------------------------
async def _usdt(s: Any, user_id: uuid.UUID, say: Speaker, *, only_if_any: bool) -> list[Item]:
    found = [d for d in await chain_deposits.of_user(s, user_id, limit=20) if d.status == "pending"]
    items = []
    for d in found[:MAX_ITEMS]:
        item = Item(topics.USDT, say(T["usdt_pending"]), pending=True)
        item.facts += [
            say.fact(T["amount"], say.money(d.amount, "USDT")),
            say.fact(T["network"], d.network.upper()),
            say.fact(T["confirmations"], f"{d.confirmations} / {d.needed}"),
            say.fact(T["seen"], say.when(d.seen_at)),
        ]
        item.notes.append(say(T["usdt_waiting"], needed=d.needed))
        item.links.append(say.link(T["usdt_link"], "/wallet/usdt/deposits"))
        items.append(item)
    if items or only_if_any:
        return items
    return [
        Item(
            topics.USDT,
            say(T["usdt_none"]),
            links=[say.link(T["usdt_link"], "/wallet/usdt/deposits")],
        )
    ]


# -- withdrawals -----------------------------------------------------------------------------
async def _withdrawals(s: Any, user_id: uuid.UUID, say: Speaker) -> list[Item]:
    pending = await history.list_transactions(
        s, user_id, history.Filters(kind="withdrawal", status="pending", direction="out"), limit=5
    )
    items = [await _withdrawal(s, user_id, row, say) for row in pending.rows[:MAX_ITEMS]]
    if items:
        return items
    item = Item(topics.WITHDRAWAL, say(T["withdrawal_none"]))
    latest = await history.list_transactions(
        s, user_id, history.Filters(kind="withdrawal", direction="out"), limit=1
    )
    stage = None
    if latest.rows and (latest.rows[0].details or {}).get("withdrawal_id"):
        try:
            w = await withdraw.get(s, user_id, latest.rows[0].details["withdrawal_id"])
            stage = w.status if w.status in STAGES else None
        except WithdrawalNotFound:
            stage = None
    _latest(item, latest.rows, say, stage=stage)
    return [item]


async def _withdrawal(s: Any, user_id: uuid.UUID, row: Any, say: Speaker) -> Item:
    details = row.details or {}
    item = Item(topics.WITHDRAWAL, say(T["withdrawal_pending"]), pending=True)
    item.facts.append(say.fact(T["amount"], say.money(row.amount, row.currency)))
    if details.get("chain_withdrawal_id"):
        item.facts.append(
            say.fact(T["to"], f"{details.get('network', '').upper()} {details.get('address', '')}")
        )
        item.facts.append(say.fact(T["asked"], say.when(row.created_at)))
        item.notes.append(say(T["usdt_withdrawal"]))
        item.links.append(
            say.link(
                T["withdrawal_link"], f"/wallet/usdt/withdrawals/{details['chain_withdrawal_id']}"
            )
        )
        return item
    try:
        w = await withdraw.get(s, user_id, details.get("withdrawal_id", ""))
    except WithdrawalNotFound:
        item.links.append(say.link(T["tx_link"], f"/wallet/tx/{row.id}"))
        return item
    item.facts += [
        say.fact(T["to"], _card(details, say)),
        say.fact(T["asked"], say.when(w.created_at)),
        say.fact(T["status"], say(STAGES.get(w.status, T["processing"]))),
        say.fact(T["expected"], say.day(w.expected_on)),
    ]
    note = STAGE_NOTES.get(w.status)
    if note:
        item.notes.append(say(note, date=say.day(w.expected_on)))
    item.links.append(say.link(T["withdrawal_link"], f"/wallet/withdrawals/{w.id}"))
    return item


# -- held payments, a frozen account, the PIN -----------------------------------------------
async def _held(s: Any, user_id: uuid.UUID, say: Speaker) -> list[Item]:
    items = []
    for h in (await held.waiting(s, user_id))[:MAX_ITEMS]:
        item = Item(topics.HELD, say(T["held_pending"]), pending=True)
        item.facts += [
            say.fact(T["amount"], say.money(h.amount, h.currency)),
            say.fact(T["paid_to"], await held.payee_of(s, h)),
            say.fact(T["held_at"], say.when(h.created_at)),
            say.fact(T["answer_by"], say.when(h.expires_at)),
        ]
        item.notes.append(say(T["held_why"]))
        item.notes.append(say(T["held_do"], time=say.when(h.expires_at)))
        item.links.append(say.link(T["held_link"], f"/wallet/held/{h.id}"))
        items.append(item)
    user = await accounts.by_id(s, user_id)
    if user.frozen_at is not None:
        item = Item(topics.HELD, say(T["frozen"]), pending=True)
        item.facts.append(say.fact(T["frozen_since"], say.when(user.frozen_at)))
        item.notes.append(say(T["frozen_do"]))
        item.links.append(say.link(T["unfreeze_link"], "/help/unfreeze-account"))
        items.append(item)
    if not items:
        items.append(Item(topics.HELD, say(T["held_none"])))
    return items


async def _pin(s: Any, cfg: Any, user_id: uuid.UUID, say: Speaker) -> list[Item]:
    user = await accounts.by_id(s, user_id)
    link = say.link(T["pin_link"], "/security/pin")
    if user.pin_hash is None:
        return [Item(topics.PIN, say(T["pin_unset"]), links=[link])]
    if user.pin_locked_at is not None:
        item = Item(topics.PIN, say(T["pin_locked"]), links=[link])
        item.facts.append(say.fact(T["locked_since"], say.when(user.pin_locked_at)))
        item.notes.append(say(T["pin_unlock"]))
        return [item]
    most = cfg.settings.identity.pin_max_failures if cfg.settings else 5
    item = Item(topics.PIN, say(T["pin_ok"]), links=[link])
    if user.pin_failures:
        item.notes.append(say(T["pin_tries"], failures=user.pin_failures, most=most))
    return [item]


async def answer(
    s: Any, cfg: Any, user_id: uuid.UUID, wanted: list[str], locale: str
) -> list[Item]:
    """What the customer's wallet says about ``wanted`` topics (``bot_intents.intents``)."""
    say = Speaker(locale)
    items: list[Item] = []
    for topic in wanted:
        if topic == topics.TOPUP:
            items += await _topups(s, cfg, user_id, say)
        elif topic == topics.USDT and topics.TOPUP not in wanted:
            items += await _usdt(s, user_id, say, only_if_any=len(wanted) > 1)
        elif topic == topics.WITHDRAWAL:
            items += await _withdrawals(s, user_id, say)
        elif topic == topics.HELD:
            items += await _held(s, user_id, say)
        elif topic == topics.PIN:
            items += await _pin(s, cfg, user_id, say)
    if len(wanted) > 1:  # "where is my money": what is in progress, else one "nothing"
        items = [i for i in items if i.pending] or [Item("money", say(T["nothing_pending"]))]
    return items
