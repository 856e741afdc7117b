"""Structured logging (structlog) with request ids, and a processor that never lets a secret out.

Every log event passes through ``redact``: any key that names a secret (password, pin, code,
token, card number, ...) is replaced by ``"[redacted]"``, and long digit runs that look like card
numbers or one-time codes inside free text are masked too.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "pin",
    "otp",
    "code",
    "token",
    "secret",
    "authorization",
    "cookie",
    "card_number",
    "pan",
    "cvv",
    "cvc",
    "id_number",
    "recovery",
    "signature",
    "api_key",
    "dsn",
)
_ALLOWED_KEYS = {"status_code", "code_kind", "error_code", "http_status"}
_CARD_RE = re.compile(r"\b\d(?:[ -]?\d){11,18}\b")
_SHORT_CODE_RE = re.compile(r"(?<![\w.-])\d{6}(?![\w.-])")
_URL_PASSWORD_RE = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
REDACTED = "[redacted]"


def is_secret_key(key: str) -> bool:
    k = key.lower()
    if k in _ALLOWED_KEYS:
        return False
    return any(part in k for part in SECRET_KEY_PARTS)


def scrub_text(value: str) -> str:
    value = _URL_PASSWORD_RE.sub(r"\1" + REDACTED + "@", value)
    value = _CARD_RE.sub(REDACTED, value)
    return _SHORT_CODE_RE.sub(REDACTED, value)


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 4:
        return value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and is_secret_key(k) else _scrub(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v, depth + 1) for v in value)
    return value


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key in {"timestamp", "level", "logger", "request_id"}:
            continue
        if is_secret_key(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def configure_logging(*, level: str = "INFO", json_logs: bool = False) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_logs
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log prints query strings; we log requests ourselves, without them.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    # The WebSocket libraries log every handshake header (session cookies among them) at DEBUG:
    # never below INFO, whatever level the operator asks for.
    for name in ("uvicorn.error", "websockets", "websockets.server", "websockets.client"):
        logging.getLogger(name).setLevel(logging.INFO)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
