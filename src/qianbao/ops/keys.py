"""Re-sealing what is stored under older keys (`qianbao keys rewrap`), and what still needs them.

Every stored ciphertext and the key family it lives under:

- ``bank_cards.number_sealed`` — the data keys (``QIANBAO_SECURITY__DATA_KEYS``, else the
  secret keys); ``bank_cards.fingerprint`` — a keyed hash under the secret keys, re-made from
  the opened number;
- ``users.totp_secret`` — the secret keys;
- ``kyc_identities.id_number_sealed`` — the data keys; ``kyc_identities.id_fingerprint`` — a
  keyed hash under the secret keys, re-made from the opened number;
- ``kyc_documents.image_sealed`` (identity photos) — the data keys;
- ``payload.sealed`` of notifications not yet sent (``outbox_messages`` not relayed, ``jobs``
  queued) — the secret keys.

Each is re-sealed with the newest key of its family in batches of committed transactions, and
only when it is not already: a second run changes nothing. A value no listed key opens is
counted as unreadable and left alone. What cannot be re-sealed without the person (a payment
PIN, recovery codes: hashes of what only the user knows) is counted by the key it depends on:
PINs are re-hashed with the newest pepper at their next use; recovery codes until replaced.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from qianbao.identity import kyc
from qianbao.identity.context import OUTBOX_PURPOSE, TOTP_PURPOSE, keyed_macs
from qianbao.kernel.crypto import MacKeys, Sealer, SealError, key_id, tag_prefix
from qianbao.kernel.db import asyncpg_dsn
from qianbao.notifications.service import sealed_aad
from qianbao.settings import Settings
from qianbao.wallet.cards import FINGERPRINT_PURPOSE, SEALER_PURPOSE


@dataclass
class Tally:
    """One kind of stored value: how many were re-sealed, already current, unreadable."""

    resealed: int = 0
    current: int = 0
    unreadable: int = 0


@dataclass
class Report:
    kinds: dict[str, Tally] = field(default_factory=dict)
    pins_on_older_pepper: int = 0
    recovery_codes_on_older_key: int = 0

    def tally(self, kind: str) -> Tally:
        return self.kinds.setdefault(kind, Tally())

    @property
    def unreadable(self) -> int:
        return sum(t.unreadable for t in self.kinds.values())


@dataclass(frozen=True)
class KeySets:
    """The keys of this deployment, as the running service would use them."""

    cards: Sealer
    fingerprints: MacKeys
    id_numbers: Sealer
    id_fingerprints: MacKeys
    photos: Sealer
    totp: Sealer
    outbox: Sealer
    pepper_id: str
    secret_id: str

    @classmethod
    def of(cls, settings: Settings) -> KeySets:
        secrets = settings.secret_keys_bytes()
        return cls(
            cards=Sealer.for_purpose(settings.data_key_bytes(), SEALER_PURPOSE),
            fingerprints=keyed_macs(secrets, FINGERPRINT_PURPOSE),
            id_numbers=kyc.id_sealer(settings),
            id_fingerprints=keyed_macs(secrets, kyc.FINGERPRINT_PURPOSE),
            photos=kyc.document_sealer(settings),
            totp=Sealer.for_purpose(secrets, TOTP_PURPOSE),
            outbox=Sealer.for_purpose(secrets, OUTBOX_PURPOSE),
            pepper_id=key_id(settings.pin_pepper_bytes()),
            secret_id=key_id(secrets[0]),
        )

    def ids(self, settings: Settings) -> dict[str, str]:
        """Key ids (not keys) to print: which key is the newest of each family."""
        return {
            "data key": key_id(settings.data_key_bytes()[0]),
            "secret key": self.secret_id,
            "PIN pepper": self.pepper_id,
        }


async def _walk(
    conn: asyncpg.Connection,
    query: str,
    first: Any,
    batch: int,
    handle: Callable[[asyncpg.Connection, asyncpg.Record], Awaitable[None]],
) -> None:
    """Keyset pagination over ``query`` ($1 = last id seen, $2 = batch size), one committed
    transaction per batch, so a long run never holds many row locks for long."""
    last = first
    while True:
        async with conn.transaction():
            rows = await conn.fetch(query, last, batch)
            for row in rows:
                await handle(conn, row)
        if len(rows) < batch:
            return
        last = rows[-1]["id"]


async def rewrap(settings: Settings, url: str, *, batch: int = 500, write: bool = True) -> Report:
    """Re-seal everything under the newest keys (``write=False``: only count)."""
    keys = KeySets.of(settings)
    report = Report()
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await _cards(conn, keys, report.tally("bank card numbers"), batch, write)
        await _totp(conn, keys, report.tally("authenticator secrets"), batch, write)
        await _kyc_ids(conn, keys, report.tally("identity card numbers"), batch, write)
        await _kyc_photos(conn, keys, report.tally("identity photos"), batch, write)
        for table, pending in (
            ("outbox_messages", "relayed_at IS NULL"),
            ("jobs", "status = 'queued'"),
        ):
            await _notifications(
                conn, keys, report.tally("codes waiting to be sent"), table, pending, batch, write
            )
        report.pins_on_older_pepper = await conn.fetchval(
            "SELECT count(*) FROM users WHERE pin_hash IS NOT NULL"
            " AND substring(pin_hash FROM 1 FOR 5) IS DISTINCT FROM $1",
            tag_prefix(keys.pepper_id),
        )
        report.recovery_codes_on_older_key = await conn.fetchval(
            "SELECT count(*) FROM recovery_codes WHERE used_at IS NULL"
            " AND substring(code_hash FROM 1 FOR 5) IS DISTINCT FROM $1",
            tag_prefix(keys.secret_id),
        )
    finally:
        await conn.close()
    return report


CARDS = """SELECT id, user_id, number_sealed, fingerprint FROM bank_cards
           WHERE id > $1 ORDER BY id LIMIT $2 FOR UPDATE"""
NIL_UUID = "00000000-0000-0000-0000-000000000000"


async def _cards(
    conn: asyncpg.Connection, keys: KeySets, tally: Tally, batch: int, write: bool
) -> None:
    async def handle(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        aad = str(row["user_id"]).encode()
        try:
            number = keys.cards.open(row["number_sealed"], aad=aad)
        except SealError:
            tally.unreadable += 1
            return
        sealed_ok = keys.cards.is_current(row["number_sealed"])
        fingerprint_ok = keys.fingerprints.is_current(row["fingerprint"])
        if sealed_ok and fingerprint_ok:
            tally.current += 1
            return
        tally.resealed += 1
        if not write:
            return
        sealed = row["number_sealed"] if sealed_ok else keys.cards.seal(number, aad=aad)
        try:
            async with conn.transaction():  # a savepoint
                await conn.execute(
                    "UPDATE bank_cards SET number_sealed = $2, fingerprint = $3 WHERE id = $1",
                    row["id"],
                    sealed,
                    keys.fingerprints.digest(number),
                )
        except asyncpg.UniqueViolationError:
            # The same number bound twice to one user under two keys (before the rotation's
            # duplicate check): keep the old fingerprint, re-seal the number all the same.
            await conn.execute(
                "UPDATE bank_cards SET number_sealed = $2 WHERE id = $1", row["id"], sealed
            )

    await _walk(conn, CARDS, NIL_UUID, batch, handle)


KYC_IDS = """SELECT user_id AS id, id_number_sealed, id_fingerprint FROM kyc_identities
             WHERE user_id > $1 ORDER BY user_id LIMIT $2 FOR UPDATE"""


async def _kyc_ids(
    conn: asyncpg.Connection, keys: KeySets, tally: Tally, batch: int, write: bool
) -> None:
    async def handle(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        aad = str(row["id"]).encode()
        try:
            number = keys.id_numbers.open(row["id_number_sealed"], aad=aad)
        except SealError:
            tally.unreadable += 1
            return
        sealed_ok = keys.id_numbers.is_current(row["id_number_sealed"])
        if sealed_ok and keys.id_fingerprints.is_current(row["id_fingerprint"]):
            tally.current += 1
            return
        tally.resealed += 1
        if write:
            await conn.execute(
                "UPDATE kyc_identities SET id_number_sealed = $2, id_fingerprint = $3 "
                "WHERE user_id = $1",
                row["id"],
                row["id_number_sealed"] if sealed_ok else keys.id_numbers.seal(number, aad=aad),
                keys.id_fingerprints.digest(number),
            )

    await _walk(conn, KYC_IDS, NIL_UUID, batch, handle)


KYC_PHOTOS = """SELECT id, application_id, kind, image_sealed FROM kyc_documents
                WHERE id > $1 ORDER BY id LIMIT $2 FOR UPDATE"""


async def _kyc_photos(
    conn: asyncpg.Connection, keys: KeySets, tally: Tally, batch: int, write: bool
) -> None:
    async def handle(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        aad = kyc.document_aad(row["application_id"], row["kind"])
        try:
            image = keys.photos.open(row["image_sealed"], aad=aad)
        except SealError:
            tally.unreadable += 1
            return
        if keys.photos.is_current(row["image_sealed"]):
            tally.current += 1
            return
        tally.resealed += 1
        if write:
            await conn.execute(
                "UPDATE kyc_documents SET image_sealed = $2 WHERE id = $1",
                row["id"],
                keys.photos.seal(image, aad=aad),
            )

    await _walk(conn, KYC_PHOTOS, NIL_UUID, batch, handle)


TOTP = """SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL AND id > $1
          ORDER BY id LIMIT $2 FOR UPDATE"""


async def _totp(
    conn: asyncpg.Connection, keys: KeySets, tally: Tally, batch: int, write: bool
) -> None:
    async def handle(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        token = row["totp_secret"]
        if keys.totp.is_current(token):
            tally.current += 1
            return
        try:
            fresh = keys.totp.reseal(token, aad=str(row["id"]).encode())
        except SealError:
            tally.unreadable += 1
            return
        tally.resealed += 1
        if write:
            await conn.execute("UPDATE users SET totp_secret = $2 WHERE id = $1", row["id"], fresh)

    await _walk(conn, TOTP, NIL_UUID, batch, handle)


async def _notifications(
    conn: asyncpg.Connection,
    keys: KeySets,
    tally: Tally,
    table: str,
    pending: str,
    batch: int,
    write: bool,
) -> None:
    query = (
        f"SELECT id, payload FROM {table} WHERE {pending} AND payload ? 'sealed'"  # noqa: S608 - fixed names
        " AND id > $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED"
    )

    async def handle(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        payload = row["payload"]
        payload = json.loads(payload) if isinstance(payload, str) else payload
        token = payload.get("sealed")
        if not isinstance(token, str) or keys.outbox.is_current(token):
            tally.current += 1
            return
        try:
            fresh = keys.outbox.reseal(token, aad=sealed_aad(payload))
        except (SealError, KeyError):
            tally.unreadable += 1
            return
        tally.resealed += 1
        if write:
            await conn.execute(
                f"UPDATE {table} SET payload = jsonb_set(payload, '{{sealed}}', to_jsonb($2::text))"  # noqa: S608
                " WHERE id = $1",
                row["id"],
                fresh,
            )

    await _walk(conn, query, 0, batch, handle)
