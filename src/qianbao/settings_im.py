"""WeChat Official Account and Telegram bot settings: ``QIANBAO_IM__*``. Part of
:mod:`qianbao.settings`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class ImSettings(BaseModel):
    """Messaging channels (E8). The development defaults work locally: both channels on, the
    ``dev`` backend writing every outgoing message to ``outbox_path``, development secrets
    where none is set. In production a channel whose secrets are not set is off."""

    backend: Literal["dev", "http"] = Field(
        default="dev",
        description="dev: every outgoing message is appended to outbox_path (JSON Lines); "
        "http: sent through the platforms' APIs at wechat_api_base / telegram_api_base (the "
        "real ones, or `qianbao im fake`).",
    )
    outbox_path: Path = Path("var/outbox/im.jsonl")
    # WeChat Official Account (公众号), plaintext mode.
    wechat_enabled: bool = True
    wechat_account: str = Field(
        default="QianbaoWallet", description="The account's WeChat ID, listed on /verify."
    )
    wechat_app_id: str = "wx-dev-app-id"
    wechat_app_secret: SecretStr | None = Field(
        default=None,
        description="AppSecret (outbound token). Unset outside production: a dev value.",
    )
    wechat_token: SecretStr | None = Field(
        default=None,
        description="The Token entered in the account's server configuration (signatures). "
        "Production without it: the WeChat channel is off.",
    )
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_max_age_s: int = Field(
        default=300, description="A push whose timestamp is older (or newer) than this is refused."
    )
    # Telegram bot.
    telegram_enabled: bool = True
    telegram_username: str = Field(default="QianbaoBot", description="The bot's @username.")
    telegram_bot_token: SecretStr | None = Field(
        default=None,
        description="The token from @BotFather. Unset outside production: a dev value.",
    )
    telegram_secret_token: SecretStr | None = Field(
        default=None,
        description="setWebhook's secret_token: every update carries it in "
        "X-Telegram-Bot-Api-Secret-Token. Production without it: the Telegram channel is off.",
    )
    telegram_api_base: str = "https://api.telegram.org"
    # Linking a chat account to a wallet.
    link_code_ttl_s: int = Field(default=600, description="A one-time link code's lifetime.")
    link_max_attempts: int = Field(
        default=5, description="Wrong link codes one chat account may send per window."
    )
    link_attempts_window_s: int = 3600
    # Sending.
    timeout_s: float = 10.0
    send_interval_s: float = Field(default=1.0, description="How often the worker sends.")
    max_attempts: int = 6

    def official_accounts(self) -> dict[str, str]:
        """The accounts /verify and /contact list as ours (platform -> handle)."""
        out = {}
        if self.wechat_enabled and self.wechat_account:
            out["WeChat"] = self.wechat_account
        if self.telegram_enabled and self.telegram_username:
            out["Telegram"] = self.telegram_username
        return out
