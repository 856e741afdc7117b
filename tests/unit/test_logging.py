import io
import json
import logging

from qianbao.kernel.logging import REDACTED, configure_logging, get_logger, scrub_text


def test_secret_keys_are_redacted_and_text_is_scrubbed():
    stream = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        configure_logging(level="INFO", json_logs=True)
        root.handlers[0].stream = stream  # type: ignore[attr-defined]
        _log_secrets()
    finally:  # give the suite its own handlers back (the suite log is scanned at the end)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    _check(stream)


def _log_secrets() -> None:
    get_logger("t").info(
        "login",
        password="hunter2-secret",
        pin="135790",
        otp_code="123456",
        headers={"Authorization": "Bearer abc", "Accept": "text/html"},
        note="card 6222 0212 3456 7890 123 and code 654321",
        dsn="postgresql://u:topsecret@db/x",
        status_code=200,
    )


def _check(stream: io.StringIO) -> None:
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["password"] == REDACTED
    assert line["pin"] == REDACTED
    assert line["otp_code"] == REDACTED
    assert line["headers"] == {"Authorization": REDACTED, "Accept": "text/html"}
    assert "6222" not in line["note"]
    assert "654321" not in line["note"]
    assert line["dsn"] == REDACTED
    assert line["status_code"] == 200
    raw = stream.getvalue()
    for secret in ("hunter2-secret", "135790", "123456", "topsecret", "Bearer abc"):
        assert secret not in raw


def test_scrub_text_masks_passwords_in_urls():
    assert "pw" not in scrub_text("connect postgresql://user:pw@host/db failed")
