"""Helpers shared by the command-line modules: one-line errors and settings with logging."""

from __future__ import annotations

import typer

from qianbao.kernel.logging import configure_logging
from qianbao.settings import Settings, get_settings

CLI_LOCALE = "en"


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def load_settings() -> Settings:
    settings = get_settings()
    configure_logging(level=settings.logging.level, json_logs=settings.logging.json_logs)
    return settings


def demo_defaults(settings: Settings) -> None:
    """What `qianbao run` turns on for the demo, unless the environment says otherwise."""
    if "allow_private_targets" not in settings.webhooks.model_fields_set:
        settings.webhooks.allow_private_targets = True  # the demo shop on localhost gets webhooks
    if "return_urls_may_be_http" not in settings.merchants.model_fields_set:
        settings.merchants.return_urls_may_be_http = True  # and its pages are http://localhost
    if "payout_backend" not in settings.payments.model_fields_set:
        # the operator's whole payout round (pain.001 out, pain.002 and statement back) on /ops
        settings.payments.payout_backend = "bank_file"
    if "currencies" not in settings.payments.model_fields_set:
        settings.payments.currencies = ["CNY", "USD", "HKD", "USDT"]  # the demo's wallets
    if "rate_provider" not in settings.payments.fx.model_fields_set:
        settings.payments.fx.rate_provider = "dev"  # the reference rates where none was set
