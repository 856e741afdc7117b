"""Choosing the top-up methods at start-up (B4): Alipay and WeChat Pay are off by default; enabled
without their keys, or with a key that cannot be read, the service refuses to start with an error
that names the setting and never shows the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from qianbao.rails import factory as rails
from qianbao.settings_acquirers import load_secret
from tests.conftest import base_settings

DATA = Path(__file__).resolve().parents[1] / "data" / "acquirers"


def _settings(**payments: object):
    return base_settings(payments={"sandbox_secret": "test-sandbox-signing-key", **payments})


def test_by_default_only_the_card_acquirer_is_offered():
    found = rails.acquirers(_settings())
    assert found.methods == ["card"]
    assert found.for_method("alipay") is None and found.for_provider("sandbox") is not None


def test_an_enabled_method_without_its_keys_stops_the_start_naming_them():
    with pytest.raises(RuntimeError) as caught:
        rails.acquirers(_settings(alipay={"enabled": True, "app_id": "2021004100000001"}))
    assert str(caught.value) == (
        "QIANBAO_PAYMENTS__ALIPAY__ENABLED=true needs QIANBAO_PAYMENTS__ALIPAY__APP_PRIVATE_KEY "
        "and QIANBAO_PAYMENTS__ALIPAY__ALIPAY_PUBLIC_KEY."
    )
    with pytest.raises(RuntimeError, match="WECHATPAY__MCHID"):
        rails.acquirers(_settings(wechatpay={"enabled": True, "appid": "wx1"}))


def test_an_unreadable_key_stops_the_start_without_showing_it():
    secret = "not-a-key-but-secret-text"
    with pytest.raises(RuntimeError) as caught:
        rails.acquirers(
            _settings(
                alipay={
                    "enabled": True,
                    "app_id": "2021004100000001",
                    "app_private_key": secret,
                    "alipay_public_key": f"file:{DATA / 'alipay_test_alipay_public.pem'}",
                }
            )
        )
    assert "APP_PRIVATE_KEY" in str(caught.value) and secret not in str(caught.value)
    with pytest.raises(RuntimeError, match="API_V3_KEY must be 32 characters"):
        rails.acquirers(
            _settings(
                wechatpay={
                    "enabled": True,
                    "appid": "wx1",
                    "mchid": "1900009191",
                    "merchant_serial_no": "S1",
                    "merchant_private_key": f"file:{DATA / 'wechatpay_test_merchant_private.pem'}",
                    "api_v3_key": "too-short",
                    "platform_keys": {"S2": f"file:{DATA / 'wechatpay_test_platform_cert.pem'}"},
                }
            )
        )


def test_keys_are_read_from_a_file_when_named_so(tmp_path: Path):
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN X-----\nabc\n-----END X-----\n")
    assert load_secret(f"file:{key}") == "-----BEGIN X-----\nabc\n-----END X-----"
    assert load_secret("-----BEGIN X-----") == "-----BEGIN X-----"
    with pytest.raises(RuntimeError, match="Cannot read the key file"):
        load_secret(f"file:{tmp_path / 'missing.pem'}")
