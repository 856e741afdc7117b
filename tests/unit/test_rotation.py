"""Rotating keys: settings take one value or a list, sealers and keyed hashes say which key made
what, signers sign with the newest key and accept every listed one."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from pydantic import ValidationError

from qianbao.kernel.crypto import MacKeys, Sealer, SealError, key_id, tag_id
from qianbao.settings import Settings
from qianbao.support.chat import visitor
from qianbao.web import csrf

OLD, NEW = b"old-master-key-0123456789", b"new-master-key-9876543210"


def test_a_single_value_still_works_and_a_list_is_newest_first(monkeypatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("QIANBAO_SECURITY__SECRET_KEY", "just-one-secret")
    monkeypatch.setenv("QIANBAO_IDENTITY__PIN_PEPPER", '["pepper-new", "pepper-old"]')
    monkeypatch.setenv("QIANBAO_SECURITY__DATA_KEYS", '["data-new", "data-old"]')
    s = Settings(var_dir=tmp_path)
    assert s.secret_keys_bytes() == [b"just-one-secret"]
    assert s.secret_key_bytes() == b"just-one-secret"
    assert s.pin_peppers_bytes() == [b"pepper-new", b"pepper-old"]
    assert s.pin_pepper_bytes() == b"pepper-new"
    assert s.data_key_bytes() == [b"data-new", b"data-old"]
    assert "pepper-old" not in repr(s) and "data-new" not in repr(s)
    # In Python too, and the data keys default to the secret keys (all of them).
    monkeypatch.delenv("QIANBAO_SECURITY__DATA_KEYS")
    s = Settings(var_dir=tmp_path, security={"secret_key": ["s-new", "s-old"]})
    assert s.secret_key_bytes() == b"s-new"
    assert s.data_key_bytes() == [b"s-new", b"s-old"]


def test_a_malformed_list_is_refused_without_echoing_it(monkeypatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QIANBAO_SECURITY__SECRET_KEY", '["unterminated-secret-value')
    with pytest.raises(ValidationError) as raised:
        Settings(var_dir=tmp_path)
    assert "unterminated-secret-value" not in str(raised.value)


def test_production_still_requires_the_secrets(tmp_path: Path):
    s = Settings(environment="production", var_dir=tmp_path)
    with pytest.raises(RuntimeError, match="QIANBAO_SECURITY__SECRET_KEY"):
        s.secret_keys_bytes()
    with pytest.raises(RuntimeError, match="QIANBAO_IDENTITY__PIN_PEPPER"):
        s.pin_peppers_bytes()


def test_sealer_knows_what_is_current_and_reseals():
    old = Sealer.for_purpose([OLD], "cards")
    token = old.seal(b"6222021234567890123", aad=b"u1")
    rotated = Sealer.for_purpose([NEW, OLD], "cards")
    assert not rotated.is_current(token)
    fresh = rotated.reseal(token, aad=b"u1")
    assert rotated.is_current(fresh) and Sealer.key_id_of(fresh) == rotated.primary_id
    only_new = Sealer.for_purpose([NEW], "cards")
    assert only_new.open(fresh, aad=b"u1") == b"6222021234567890123"
    with pytest.raises(SealError):
        only_new.open(token, aad=b"u1")  # what was not re-sealed is lost with the old key
    assert Sealer.key_id_of("garbage") is None


def test_keyed_hashes_record_their_key_and_old_ones_still_match():
    message = b"user-1|583920"
    old, rotated = MacKeys([OLD]), MacKeys([NEW, OLD])
    stored = old.digest(message)
    assert tag_id(stored) == key_id(OLD)
    assert rotated.matches(message, stored) and not rotated.is_current(stored)
    assert not rotated.matches(b"user-1|000000", stored)
    assert rotated.is_current(rotated.digest(message))
    assert stored in rotated.candidates(message)
    assert not MacKeys([NEW]).matches(message, stored)
    # A digest from before ids were recorded (bare HMAC) matches under any listed key.
    legacy = hmac.new(OLD, message, hashlib.sha256).digest()
    assert rotated.matches(message, legacy) and not rotated.is_current(legacy)
    assert legacy in rotated.candidates(message)
    # The same derivation as before for a purpose: sha256(master | purpose).
    key = hashlib.sha256(OLD + b"|otp").digest()
    assert MacKeys([NEW, OLD], purpose="otp").matches(
        message, hmac.new(key, message, hashlib.sha256).digest()
    )


def test_csrf_tokens_and_visitor_cookies_from_the_old_key_are_accepted():
    cookie_token = csrf.new_cookie_token()
    before = csrf.form_token(OLD, cookie_token)
    assert csrf.is_valid([NEW, OLD], cookie_token, before)
    after = csrf.form_token([NEW, OLD], cookie_token)
    assert after != before and after == csrf.form_token(NEW, cookie_token)
    assert not csrf.is_valid([NEW], cookie_token, before)  # once the old key is gone
    assert not csrf.is_valid([NEW, OLD], cookie_token, "0" * 64)
    old_cookie = visitor.new_cookie(OLD)
    token = visitor.token_of([NEW, OLD], old_cookie)
    assert token is not None and old_cookie.startswith(token)
    assert visitor.token_of([NEW], old_cookie) is None
    assert visitor.token_of([NEW], visitor.new_cookie([NEW, OLD])) is not None
