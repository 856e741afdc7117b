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
