"""The client side of `make chaos`: users made through the public API, and a steady load of
money writes — transfers, card top-ups (sandbox acquirer, credited by its callback job) and
withdrawals (PIN + SMS code, paid out by jobs) — each with its own ``Idempotency-Key``.

Every write is recorded: kind, key, body and each attempt's outcome. An attempt is
*acknowledged* when a 2xx came back, *refused* on a 4xx (a definite answer: nothing happened),
and *unacknowledged* on anything else (connection refused or lost, time-out, 5xx): then the
client does not know, and sometimes tries again later with the SAME key and body, as a real
client would."""

from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any

import httpx

PIN = "583920"
PASSWORD = "chaos monkey passphrase 2026"
NAME = "王小明"
CARD = "6222020000000004242"  # the sandbox's "succeeds" card; payouts to it settle
_CODE = re.compile(r"(?<![\d.])(\d{6})(?!\d|\.\d)")
KINDS = ("transfer", "topup", "withdrawal")


def new_client(base: str, timeout: float = 10.0) -> httpx.AsyncClient:
    """No cookies: an API client authenticates with its bearer token only (a cookie would make
    every write a cookie-authenticated one that needs a CSRF token)."""
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(
        base_url=base,
        timeout=timeout,
        cookies=jar,
        headers={"Accept-Language": "en"},
    )


@dataclass
class User:
    index: int
    phone: str  # national number, as typed
    token: str = ""
    user_id: str = ""
    card_id: str = ""

    @property
    def e164(self) -> str:
        return "+86" + self.phone

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Op:
    kind: str
    key: str
    user: int
    body: dict[str, Any]
    to_user: int | None = None
    attempts: list[str] = field(default_factory=list)
    state: str = "inflight"  # acked, refused, unacked (inflight while an attempt runs)
    result: dict[str, Any] | None = None
    confirmed: bool = False  # top-ups: the client confirmed the payment at the sandbox
    confirm_tries: int = 0

    @property
    def minor(self) -> int:
        return int(Decimal(self.body["amount"]) * 100)


class SmsBox:
    """Reads the development SMS outbox (JSON Lines) as it grows; finds one-time codes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.codes: dict[str, list[tuple[str, str]]] = {}  # number → (text, code)
        self._lock = asyncio.Lock()

    def _read_new(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        for raw in data[:end].splitlines():
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            text = str(msg.get("text", ""))
            match = _CODE.search(text) if "code" in text.lower() else None
            if match:
                self.codes.setdefault(str(msg.get("to")), []).append((text, match.group(1)))
        self.offset += end

    def seen(self, e164: str) -> int:
        self._read_new()
        return len(self.codes.get(e164, []))

    async def next_code(
        self, e164: str, after: int, *, about: str = "", within_s: float = 15.0
    ) -> str | None:
        """The newest code sent to ``e164`` after ``after`` codes had been seen, in a text that
        mentions ``about`` (a withdrawal's amount; a late code of an earlier request is not
        this one's). None: none came in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while loop.time() < deadline:
            async with self._lock:
                self._read_new()
            got = [code for text, code in self.codes.get(e164, [])[after:] if about in text]
            if got:
                return got[-1]
            await asyncio.sleep(0.05)
        return None


class Setup(RuntimeError):
    pass


def _check(r: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if r.status_code != status:
        raise Setup(f"{what}: HTTP {r.status_code} {r.text[:300]}")
    return r.json() if r.content else {}


async def make_user(client: httpx.AsyncClient, sms: SmsBox, index: int, opening: str) -> User:
    """Sign up (SMS code), set the PIN, bind a card (SMS code) and top it up by ``opening`` —
    all through the public API, as the app does."""
    user = User(index, f"1390{index:07d}")
    seen = sms.seen(user.e164)
    _check(await client.post("/api/v1/auth/signup/code", json={"phone": user.phone}), 202, "code")
    code = await sms.next_code(user.e164, seen)
    body = {
        "phone": user.phone,
        "code": code,
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "accept_terms": True,
        "real_name": NAME,
    }
    user.token = _check(await client.post("/api/v1/auth/signup", json=body), 201, "signup")["token"]
    _check(await client.post("/api/v1/me/pin", json={"pin": PIN}, headers=user.auth), 204, "pin")
    user.user_id = _check(await client.get("/api/v1/me", headers=user.auth), 200, "me")["id"]
    seen = sms.seen(user.e164)
    _check(await client.post("/api/v1/wallet/cards/code", headers=user.auth), 202, "card code")
    code = await sms.next_code(user.e164, seen)
    card = {"number": CARD, "holder_name": NAME, "pin": PIN, "code": code}
    r = await client.post("/api/v1/wallet/cards", json=card, headers=user.auth)
    user.card_id = _check(r, 201, "card")["id"]
    topup = {"card_id": user.card_id, "amount": opening, "currency": "CNY", "pin": PIN}
    headers = {**user.auth, "Idempotency-Key": f"opening-{uuid.uuid4().hex}"}
    r = await client.post("/api/v1/wallet/topups", json=topup, headers=headers)
    payment = _check(r, 201, "opening top-up")["confirmation_url"].rsplit("/", 1)[1]
    r = await client.post(f"/api/v1/sandbox/payments/{payment}/confirm", json={})
    _check(r, 200, "confirm")
    return user


async def wait_funded(client: httpx.AsyncClient, users: list[User], within_s: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    for user in users:
        while True:
            body = _check(await client.get("/api/v1/wallet", headers=user.auth), 200, "wallet")
            if any(Decimal(b["available"]["amount"]) > 0 for b in body["balances"]):
                break
            if loop.time() > deadline:
                raise Setup(f"user {user.index}'s opening top-up was not credited")
            await asyncio.sleep(0.2)


@dataclass
class LoadConfig:
    workers: int = 6
    retry_probability: float = 0.5
    max_attempts: int = 3
    mix: tuple[float, float, float] = (0.6, 0.25, 0.15)  # transfer, top-up, withdrawal


class Load:
    """Concurrent clients; each owns some users (one request at a time per user)."""

    def __init__(
        self, base: str, users: list[User], sms: SmsBox, config: LoadConfig, seed: int
    ) -> None:
        self.base = base
        self.users = users
        self.sms = sms
        self.config = config
        self.seed = seed
        self.ops: list[Op] = []
        self.up = asyncio.Event()  # the controller clears it while it restarts something
        self.up.set()
        self.stop = asyncio.Event()
        self.confirms: list[Op] = []  # acknowledged top-ups still to confirm
        self.codes_missed = 0

    # -- one attempt ------------------------------------------------------------------------
    async def _send(
        self, client: httpx.AsyncClient, method: str, path: str, **kw: Any
    ) -> tuple[str, httpx.Response | None]:
        try:
            r = await client.request(method, path, **kw)
        except httpx.ConnectError:
            return "connect", None  # refused: nothing was sent (still: not acknowledged)
        except httpx.TimeoutException:
            return "timeout", None
        except httpx.TransportError as exc:
            return type(exc).__name__, None
        if 200 <= r.status_code < 300:
            return "ok", r
        try:
            code = str(r.json().get("code"))
        except ValueError:
            code = "?"
        return f"{r.status_code}:{code}", r

    async def attempt(self, client: httpx.AsyncClient, op: Op) -> None:
        user = self.users[op.user]
        path = {
            "transfer": "/api/v1/wallet/transfers",
            "topup": "/api/v1/wallet/topups",
            "withdrawal": "/api/v1/wallet/withdrawals",
        }[op.kind]
        op.state = "inflight"
        headers = {**user.auth, "Idempotency-Key": op.key}
        outcome, r = await self._send(client, "POST", path, json=op.body, headers=headers)
        op.attempts.append(outcome)
        if outcome == "ok" and r is not None:
            op.state, op.result = "acked", r.json()
            if op.kind == "topup":
                self.confirms.append(op)
        elif r is not None and 400 <= r.status_code < 500:
            op.state = "refused"
        else:
            op.state = "unacked"

    async def confirm(self, client: httpx.AsyncClient, op: Op) -> bool:
        """Confirm an acknowledged top-up at the sandbox bank; True once it is confirmed."""
        assert op.result is not None
        url = op.result.get("confirmation_url")
        if not url:  # a replay of one that is no longer pending: confirmed before
            op.confirmed = True
            return True
        payment = url.rsplit("/", 1)[1]
        op.confirm_tries += 1
        outcome, _ = await self._send(
            client, "POST", f"/api/v1/sandbox/payments/{payment}/confirm", json={}
        )
        if outcome in ("ok", "409:sandbox.payment_done"):
            op.confirmed = True
        return op.confirmed

    # -- building requests ------------------------------------------------------------------
    def _new_op(self, rng: random.Random, owner: User) -> Op:
        kind = rng.choices(KINDS, weights=self.config.mix)[0]
        key = uuid.uuid4().hex
        if kind == "transfer":
            other = rng.choice([u for u in self.users if u.index != owner.index])
            amount = f"{rng.randint(1, 999) / 100:.2f}"
            body = {"to": other.phone, "amount": amount, "currency": "CNY", "pin": PIN}
            return Op(kind, key, owner.index, body, to_user=other.index)
        if kind == "topup":
            amount = f"{rng.randint(1000, 20000) / 100:.2f}"
            body = {"card_id": owner.card_id, "amount": amount, "currency": "CNY", "pin": PIN}
            return Op(kind, key, owner.index, body)
        amount = f"{rng.randint(200, 3000) / 100:.2f}"
        body = {"card_id": owner.card_id, "amount": amount, "currency": "CNY", "pin": PIN}
        return Op(kind, key, owner.index, body)

    async def _withdrawal_code(self, client: httpx.AsyncClient, op: Op) -> bool:
        """Ask for the SMS code for this amount and card, and read it from the outbox."""
        user = self.users[op.user]
        seen = self.sms.seen(user.e164)
        body = {k: op.body[k] for k in ("card_id", "amount", "currency")}
        outcome, _ = await self._send(
            client, "POST", "/api/v1/wallet/withdrawals/code", json=body, headers=user.auth
        )
        about = f"{op.body['amount']} CNY"
        code = await self.sms.next_code(user.e164, seen, about=about) if outcome == "ok" else None
        if code is None:
            self.codes_missed += 1
            return False
        op.body["code"] = code
        return True

    # -- the clients --------------------------------------------------------------------------
    async def _client(self, n: int) -> None:
        rng = random.Random(self.seed * 1000 + n)
        mine = [u for u in self.users if u.index % self.config.workers == n]
        owned = {u.index for u in mine}
        retries: list[Op] = []
        async with new_client(self.base) as client:
            while not self.stop.is_set():
                if not self.up.is_set():
                    await self._wait_up()
                    continue
                ready = [op for op in self.confirms if op.user in owned and op.confirm_tries < 20]
                if ready:
                    if await self.confirm(client, ready[0]):
                        self.confirms.remove(ready[0])
                    else:
                        await self._pause()
                    continue
                if retries:
                    op = retries.pop(0)
                else:
                    op = self._new_op(rng, rng.choice(mine))
                    if op.kind == "withdrawal" and not await self._withdrawal_code(client, op):
                        await self._pause()
                        continue
                    self.ops.append(op)
                await self.attempt(client, op)
                if op.state == "unacked":
                    if (
                        len(op.attempts) < self.config.max_attempts
                        and rng.random() < self.config.retry_probability
                    ):
                        retries.append(op)  # the SAME key and body, once the service is back
                    await self._pause()

    async def _pause(self) -> None:
        await asyncio.sleep(0.2)
        await self._wait_up()

    async def _wait_up(self) -> None:
        stopper = asyncio.ensure_future(self.stop.wait())
        upper = asyncio.ensure_future(self.up.wait())
        _, pending = await asyncio.wait({stopper, upper}, return_when=asyncio.FIRST_COMPLETED)
        for fut in pending:
            fut.cancel()

    async def run(self) -> None:
        await asyncio.gather(*(self._client(n) for n in range(self.config.workers)))

    async def finish(self, within_s: float = 120.0) -> None:
        """What a client still owes at the end: confirm the top-ups it was told about."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        async with new_client(self.base) as client:
            while self.confirms and loop.time() < deadline:
                op = self.confirms[0]
                if await self.confirm(client, op):
                    self.confirms.pop(0)
                else:
                    await asyncio.sleep(0.3)
