"""Secrets the tests used (passwords, codes, PINs, tokens). At the end of the run every log line
the suite produced is scanned for them (see ``pytest_sessionfinish`` in tests/conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

SECRETS: set[str] = set()


def remember(*values: str) -> None:
    for value in values:
        if value and len(value) >= 6:
            SECRETS.add(value)


def leaks(log_text: str) -> list[str]:
    found = []
    for secret in SECRETS:
        if secret.isdigit():
            if re.search(rf"(?<![0-9A-Za-z.]){re.escape(secret)}(?![0-9A-Za-z])", log_text):
                found.append(secret)
        elif secret in log_text:
            found.append(secret)
    return sorted(found)


def scan(log_file: Path) -> tuple[int, list[str]]:
    text = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
    return len(text.splitlines()), leaks(text)
