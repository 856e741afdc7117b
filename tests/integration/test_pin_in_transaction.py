"""The payment hot path's PIN check (``verify_pin_in_transaction``): same answers and the same
counting as ``verify_pin``, ordered against concurrent wrong tries by the row lock."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from qianbao.identity import pin as identity_pin
from qianbao.identity.errors import PinLocked, WrongPin
from qianbao.identity.models import User
from qianbao.identity.sessions import resolve
from qianbao.kernel.db import Database
from tests.support.identity import sign_up
from tests.support.secrets import remember

PIN = "583920"
OTHER = "602718"
remember(PIN)
remember(OTHER)


async def _user(fresh_client, fresh_app: FastAPI) -> tuple[str, User]:
    _, token = await sign_up(fresh_client, fresh_app)
    r = await fresh_client.post(
        "/api/v1/me/pin", json={"pin": PIN}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 204
    async with fresh_app.state.db.session() as s:
        found = await resolve(s, fresh_app.state.identity, token)
        assert found is not None
        return token, found[1]


async def _state(db: Database, user_id) -> tuple[int, bool]:
    async with db.session() as s:
        row = (await s.execute(select(User).where(User.id == user_id))).scalar_one()
        return row.pin_failures, row.pin_locked_at is not None


async def test_right_pin_passes_and_keeps_the_row_locked_until_the_end(
    fresh_client, fresh_app: FastAPI
) -> None:
    db: Database = fresh_app.state.db
    ctx = fresh_app.state.identity
    token, _ = await _user(fresh_client, fresh_app)
    async with db.session() as s:
        found = await resolve(s, ctx, token)
        assert found is not None
        await identity_pin.verify_pin_in_transaction(s, ctx, found[1], PIN)
        # A wrong try meanwhile (another request) waits for this transaction, then counts.
        wrong = asyncio.create_task(_verify(db, ctx, found[1].id, OTHER))
        await asyncio.sleep(0.3)
        assert not wrong.done()
        await s.commit()
    with pytest.raises(WrongPin):
        await wrong
    assert await _state(db, found[1].id) == (1, False)


async def _verify(db: Database, ctx, user_id, pin: str) -> None:
    async with db.session() as s:
        await identity_pin.verify_pin(s, ctx, user_id, pin)


async def test_wrong_pin_is_counted_and_committed_even_if_the_caller_rolls_back(
    fresh_client, fresh_app: FastAPI
) -> None:
    db: Database = fresh_app.state.db
    ctx = fresh_app.state.identity
    token, user = await _user(fresh_client, fresh_app)
    async with db.session() as s:
        found = await resolve(s, ctx, token)
        assert found is not None
        with pytest.raises(WrongPin):
            await identity_pin.verify_pin_in_transaction(s, ctx, found[1], OTHER)
        await s.rollback()
    assert await _state(db, user.id) == (1, False)
    # The right PIN now resets the counter (through verify_pin: there is something to write).
    async with db.session() as s:
        found = await resolve(s, ctx, token)
        assert found is not None
        await identity_pin.verify_pin_in_transaction(s, ctx, found[1], PIN)
        await s.rollback()
    assert await _state(db, user.id) == (0, False)


async def test_a_lock_committed_after_the_row_was_read_refuses_the_right_pin(
    fresh_client, fresh_app: FastAPI
) -> None:
    db: Database = fresh_app.state.db
    ctx = fresh_app.state.identity
    token, user = await _user(fresh_client, fresh_app)
    async with db.session() as s:
        found = await resolve(s, ctx, token)  # read while the PIN was fine
        assert found is not None
        for _ in range(ctx.settings.identity.pin_max_failures):  # then locked elsewhere
            with pytest.raises((WrongPin, PinLocked)):
                await _verify(db, ctx, user.id, OTHER)
        with pytest.raises(PinLocked):
            await identity_pin.verify_pin_in_transaction(s, ctx, found[1], PIN)
    assert await _state(db, user.id) == (ctx.settings.identity.pin_max_failures, True)


async def test_a_pin_changed_after_the_row_was_read_counts_the_old_one_as_wrong(
    fresh_client, fresh_app: FastAPI
) -> None:
    db: Database = fresh_app.state.db
    ctx = fresh_app.state.identity
    token, user = await _user(fresh_client, fresh_app)
    async with db.session() as s:
        found = await resolve(s, ctx, token)
        assert found is not None
        async with db.transaction() as other:
            row = (await other.execute(select(User).where(User.id == user.id))).scalar_one()
            row.pin_hash = identity_pin._digest(ctx, user.id, OTHER)
        with pytest.raises(WrongPin):
            await identity_pin.verify_pin_in_transaction(s, ctx, found[1], PIN)
        await s.rollback()
    assert await _state(db, user.id) == (1, False)
