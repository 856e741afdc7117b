"""What the messaging channels need from the settings, read once: secrets opened here only
(never logged), development values where none is set outside production."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

DEV_SECRETS = {
    "wechat_app_secret": "dev-wechat-app-secret",
    "wechat_token": "dev-wechat-token",
    "telegram_bot_token": "123456:dev-telegram-bot-token",
    "telegram_secret_token": "dev-telegram-secret-token",
}


def _secret(im: Any, name: str, production: bool) -> str | None:
    value: SecretStr | None = getattr(im, name)
    if value is not None:
        return value.get_secret_value()
    return None if production else DEV_SECRETS[name]


@dataclass(frozen=True)
class ImConfig:
    wechat_enabled: bool = False
    telegram_enabled: bool = False
    wechat_app_id: str = ""
    wechat_account: str = ""
    telegram_username: str = ""
    link_code_ttl_s: int = 600
    link_max_attempts: int = 5
    link_attempts_window_s: int = 3600
    wechat_max_age_s: int = 300
    max_attempts: int = 6
    visitor_key: bytes = b""
    site_url: str = ""
    _secrets: dict[str, str | None] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, settings: Any) -> ImConfig:
        im = settings.im
        production = settings.environment == "production"
        secrets = {name: _secret(im, name, production) for name in DEV_SECRETS}
        return cls(
            wechat_enabled=im.wechat_enabled
            and bool(secrets["wechat_token"] and secrets["wechat_app_secret"]),
            telegram_enabled=im.telegram_enabled
            and bool(secrets["telegram_bot_token"] and secrets["telegram_secret_token"]),
            wechat_app_id=im.wechat_app_id,
            wechat_account=im.wechat_account,
            telegram_username=im.telegram_username,
            link_code_ttl_s=im.link_code_ttl_s,
            link_max_attempts=im.link_max_attempts,
            link_attempts_window_s=im.link_attempts_window_s,
            wechat_max_age_s=im.wechat_max_age_s,
            max_attempts=im.max_attempts,
            visitor_key=settings.secret_key_bytes(),
            site_url=settings.http.site_url(),
            _secrets=secrets,
        )

    def secret(self, name: str) -> str:
        value = self._secrets.get(name)
        if not value:
            raise LookupError(name)
        return value

    def enabled(self, channel: str) -> bool:
        return self.wechat_enabled if channel == "wechat" else self.telegram_enabled
