"""Settings: nested pydantic-settings groups under one prefix, read once and passed in.

Every value can be set by an environment variable ``QIANBAO_<GROUP>__<NAME>`` (for example
``QIANBAO_DATABASE__URL`` or ``QIANBAO_HTTP__PORT``) or in a ``.env`` file in the working
directory. Nothing else in the code base reads ``os.environ``.
"""

from __future__ import annotations

import json
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from qianbao.settings_chain import ChainSettings
from qianbao.settings_desk import ChatSettings, SupportSettings, TicketsSettings
from qianbao.settings_http import HttpSettings
from qianbao.settings_im import ImSettings
from qianbao.settings_kyc import KycSettings
from qianbao.settings_merchants import MerchantsSettings, WebhooksSettings
from qianbao.settings_money import (
    CN_HOLIDAYS_2026,
    CN_WORKDAYS_2026,
    BankSettings,
    DisputesSettings,
    FeeRule,
    PaymentsSettings,
    RiskSettings,
    ThrottleSettings,
)

__all__ = [
    "CN_HOLIDAYS_2026",
    "CN_WORKDAYS_2026",
    "BankSettings",
    "ChatSettings",
    "FeeRule",
    "MerchantsSettings",
    "PaymentsSettings",
    "RiskSettings",
    "Settings",
    "SupportSettings",
    "ThrottleSettings",
    "TicketsSettings",
    "WebhooksSettings",
    "get_settings",
]


class DatabaseSettings(BaseModel):
    url: SecretStr | None = Field(
        default=None,
        description="postgresql://user:password@host:port/dbname of an external server. "
        "When unset, the embedded PostgreSQL under `embedded_dir` is used.",
    )
    embedded_dir: Path = Field(
        default=Path("var/pg"), description="Data folder of the embedded server."
    )
    pooler: Literal["none", "pgbouncer"] = Field(
        default="none",
        description="`pgbouncer`: `url` goes through PgBouncer in transaction mode. Statements "
        "are then prepared unnamed or under one-off names (no statement cache), and the "
        "timeouts are not sent at connection start (PgBouncer refuses them): set them on the "
        "role instead (docs/operator.md, Scaling out).",
    )
    direct_url: SecretStr | None = Field(
        default=None,
        description="A connection straight to PostgreSQL, not through the pooler, for what "
        "needs a session of its own: LISTEN (live chat between web processes, the worker's "
        "wake-ups). Defaults to `url`.",
    )
    embedded_db: str = "qianbao"
    pool_size: int = 10
    max_overflow: int = 10
    pool_timeout_s: float = Field(
        default=3.0,
        description="How long a request waits for a free connection before it is answered 503 "
        "service.unavailable (with Retry-After) instead of queueing.",
    )
    side_pool_size: int = Field(
        default=4,
        description="Connections of the small second pool for short independent commits made "
        "while a request's own transaction is open (a wrong PIN or code still counts).",
    )
    lock_timeout_ms: int = Field(
        default=10_000,
        description="A statement waiting longer than this for a lock gives up: the request is "
        "answered 503 service.unavailable instead of holding its connection.",
    )
    statement_timeout_ms: int = 30_000
    echo: bool = False


def _newest_first(value: object) -> object:
    """A secret that can be rotated: one value, or several newest first, given as a list or as
    a JSON list in the variable (``'["new", "old"]'``). Unset or empty: none."""
    if value is None:
        return []
    if isinstance(value, SecretStr):
        return [value]
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if not text.startswith("["):
            return [text]
        try:
            return json.loads(text)
        except ValueError:
            raise ValueError("not a JSON list of strings") from None  # never echo the value
    return value


# One value or a list, newest first; kept out of error messages (Settings hides inputs).
RotatingSecret = Annotated[list[SecretStr], NoDecode, BeforeValidator(_newest_first)]


class SecuritySettings(BaseModel):
    secret_key: RotatingSecret = Field(
        default_factory=list,
        description="Signs cookies, CSRF tokens and chat visitor cookies, keys the hashes of "
        "codes and seals TOTP secrets. Required in production; in development a random one is "
        "kept in var/secret_key. Rotation: a JSON list, newest first — the first signs, every "
        "listed key is still accepted.",
    )
    data_keys: RotatingSecret = Field(
        default_factory=list,
        description="Master keys for card and ID numbers at rest (AES-GCM). The first encrypts "
        "new data, every listed key still decrypts (rotation: put the new key first, run "
        "`qianbao keys rewrap`, then drop the old one). Empty: derived from the secret keys.",
    )
    session_cookie: str = "qb_session"
    csrf_cookie: str = "qb_csrf"


class AdminSettings(BaseModel):
    api_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for the operator JSON API (/api/v1/ledger/...). Unset = off.",
    )


class LedgerSettings(BaseModel):
    group_commit_max_batch: int = Field(default=1000, description="Transfers per group commit.")
    group_commit_inflight: int = Field(default=2, description="Concurrent group-commit batches.")
    hold_sweep_interval_s: float = Field(
        default=10.0, description="How often expired holds are released."
    )


class SmsSettings(BaseModel):
    backend: Literal["outbox", "twilio"] = Field(
        default="outbox",
        description="outbox: development, writes each SMS to outbox_path (and the console); "
        "twilio: sends through Twilio's Programmable Messaging REST API.",
    )
    outbox_path: Path = Path("var/sms-outbox.jsonl")
    console_echo: bool = Field(
        default=True, description="Development: also print each SMS to stdout."
    )
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = Field(
        default=None, description="Sender number or Messaging Service SID."
    )
    twilio_base_url: str = "https://api.twilio.com"
    timeout_s: float = 10.0


class EmailSettings(BaseModel):
    backend: Literal["file", "smtp"] = Field(
        default="file",
        description="file: development, writes .eml files to outbox_dir; smtp: sends.",
    )
    outbox_dir: Path = Path("var/mail")
    from_address: str = "Qianbao <no-reply@qianbao.local>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    timeout_s: float = 15.0


class IdentitySettings(BaseModel):
    default_region: str = Field(
        default="CN", description="Region for numbers typed without +country."
    )
    terms_version: str = Field(
        default="2026-12-05",
        max_length=20,
        description="The version of the user agreement and privacy policy (/terms, /privacy) "
        "a new account accepts; recorded with the account. Change it when you change them.",
    )
    otp_ttl_s: int = 300
    otp_max_checks: int = 5
    otp_resend_cooldown_s: int = 60
    otp_max_sends_per_purpose_hour: int = Field(
        default=4,
        description="Codes one number may be sent for one purpose (sign-up, card binding, "
        "withdrawal, ...) in an hour: using up sign-up's never blocks a withdrawal.",
    )
    otp_max_sends_per_number_hour: int = Field(
        default=12, description="Codes one number may be sent in an hour, all purposes together."
    )
    otp_max_sends_per_ip_hour: int = 20
    login_max_failures: int = 10
    login_lockout_minutes: int = 30
    pin_max_failures: int = 5
    pin_pepper: RotatingSecret = Field(
        default_factory=list,
        description="Secret key for payment-PIN hashes, kept outside the database. Required in "
        "production; development keeps one in var/pin_pepper. Rotation: a JSON list, newest "
        "first; a PIN hashed with an older pepper is re-hashed with the newest when next used.",
    )
    session_days: int = 30
    cooling_off_hours: int = 72
    # Browsers refuse an IP address as the passkey domain: in development open the site on
    # http://localhost:8000 (not 127.0.0.1) to use passkeys.
    webauthn_rp_id: str = "localhost"
    webauthn_rp_name: str = "Qianbao"
    webauthn_origin: str = "http://localhost:8000"


class I18nSettings(BaseModel):
    default_locale: Literal["zh_CN", "zh_Hant", "en"] = "zh_CN"
    locale_cookie: str = "qb_lang"


class LoggingSettings(BaseModel):
    level: str = "INFO"
    json_logs: bool = Field(
        default=False, description="One JSON object per line instead of console lines."
    )


class WorkerSettings(BaseModel):
    in_process: bool = Field(
        default=True, description="Run the job runner inside the web process (the simple default)."
    )
    poll_interval_s: float = 2.0
    batch_size: int = Field(default=200, description="Outbox messages relayed per transaction.")
    jobs_per_transaction: int = Field(
        default=100,
        description="Ready jobs claimed and run in one transaction; jobs of one task with a "
        "batch handler (notifications, transfer notices) run together in a few statements.",
    )
    max_attempts: int = 8


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="QIANBAO_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        # A malformed secret (a rotating key list) must not be echoed in the error.
        hide_input_in_errors=True,
    )

    environment: Literal["development", "test", "production"] = "development"
    var_dir: Path = Field(
        default=Path("var"), description="Local state: embedded database, outboxes."
    )
    require_browser: bool = Field(
        default=False, description="Tests: fail instead of skip without chromium."
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    i18n: I18nSettings = Field(default_factory=I18nSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    payments: PaymentsSettings = Field(default_factory=PaymentsSettings)
    bank: BankSettings = Field(default_factory=BankSettings)
    kyc: KycSettings = Field(default_factory=KycSettings)
    chain: ChainSettings = Field(default_factory=ChainSettings)
    im: ImSettings = Field(default_factory=ImSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    disputes: DisputesSettings = Field(default_factory=DisputesSettings)
    throttle: ThrottleSettings = Field(default_factory=ThrottleSettings)
    chat: ChatSettings = Field(default_factory=ChatSettings)
    tickets: TicketsSettings = Field(default_factory=TicketsSettings)
    support: SupportSettings = Field(default_factory=SupportSettings)
    merchants: MerchantsSettings = Field(default_factory=MerchantsSettings)
    webhooks: WebhooksSettings = Field(default_factory=WebhooksSettings)

    @model_validator(mode="after")
    def _im_accounts_are_official(self) -> Settings:
        """The WeChat and Telegram accounts of the messaging channels are official channels
        (/verify, /contact) unless the support settings name those platforms themselves."""
        named = {p.lower() for p in self.support.social_accounts}
        for platform, handle in self.im.official_accounts().items():
            if platform.lower() not in named:
                self.support.social_accounts[platform] = handle
        return self

    def secret_key_bytes(self) -> bytes:
        """The signing key (the newest). Production must set it; development keeps one under
        var/."""
        return self.secret_keys_bytes()[0]

    def secret_keys_bytes(self) -> list[bytes]:
        """Every accepted signing key, newest first (the first signs, all verify)."""
        return self._secrets(self.security.secret_key, "QIANBAO_SECURITY__SECRET_KEY", "secret_key")

    def data_key_bytes(self) -> list[bytes]:
        """Master keys for data at rest, newest first."""
        if self.security.data_keys:
            return [k.get_secret_value().encode() for k in self.security.data_keys]
        return self.secret_keys_bytes()

    def pin_pepper_bytes(self) -> bytes:
        """The payment-PIN hashing key (ADR 0007), never stored in the database: the newest."""
        return self.pin_peppers_bytes()[0]

    def pin_peppers_bytes(self) -> list[bytes]:
        """Every accepted PIN pepper, newest first (new hashes use the first)."""
        return self._secrets(self.identity.pin_pepper, "QIANBAO_IDENTITY__PIN_PEPPER", "pin_pepper")

    def _secrets(self, values: list[SecretStr], variable: str, filename: str) -> list[bytes]:
        if values:
            return [v.get_secret_value().encode() for v in values]
        return [self._secret(None, variable, filename)]

    def _secret(self, value: SecretStr | None, variable: str, filename: str) -> bytes:
        if value is not None:
            return value.get_secret_value().encode()
        if self.environment == "production":
            raise RuntimeError(
                f"{variable} is not set. Production needs a long random secret "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        path = self.var_dir / filename
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip().encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read settings once per process. Tests build their own ``Settings`` instead."""
    return Settings()
