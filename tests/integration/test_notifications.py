"""Notifications: the real backends against real local servers, and the outbox-to-job path."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email
import email.policy
import json
import socket
from collections.abc import AsyncIterator, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from qianbao.kernel.db import Database
from qianbao.kernel.translations import gettext
from qianbao.notifications import (
    DeliveryFailed,
    FileEmail,
    OutboxSms,
    SmtpEmail,
    TwilioSms,
    email_sender,
    mask_destination,
    outbox_sealer,
    register,
    render,
    request,
    sms_sender,
)
from qianbao.notifications.templates import TEMPLATES
from qianbao.settings import Settings
from qianbao.worker import Worker, registry
from tests.conftest import base_settings

PHONE = "+8613800138000"
CODE = "493817"
ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "twilio-auth-token-never-shown"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(tmp_path: Path, **sms: Any) -> Settings:
    return base_settings(
        sms={"outbox_path": tmp_path / "var" / "sms-outbox.jsonl", "console_echo": False, **sms},
        email={
            "outbox_dir": tmp_path / "var" / "mail",
            "from_address": "Qianbao <no-reply@qb.test>",
        },
    )


def _part(msg: Any, subtype: str) -> str:
    part = msg.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return OutboxSms(path).messages()


# -- (a) the development SMS outbox ---------------------------------------------------------------


async def test_outbox_sms_appends_jsonl_lines_and_never_repeats_an_id(tmp_path: Path, capsys):
    path = tmp_path / "new-folder" / "sms.jsonl"
    sms = OutboxSms(path, console_echo=True)
    assert await sms.send(PHONE, "第一条 first", idempotency_key="job-1-a") == "job-1-a"
    await sms.send("+14155550100", "second", idempotency_key="job-2-b")
    # A retry, and the same retry from another process (another instance): nothing new.
    await sms.send(PHONE, "第一条 first", idempotency_key="job-1-a")
    await OutboxSms(path).send(PHONE, "第一条 first", idempotency_key="job-1-a")
    # Concurrent senders do not tear lines.
    await asyncio.gather(
        *(OutboxSms(path).send(PHONE, f"n{i}", idempotency_key=f"k{i}") for i in range(20))
    )

    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 22
    first = json.loads(lines[0])
    assert set(first) == {"id", "to", "text", "sent_at"}
    assert first["id"] == "job-1-a"
    assert first["to"] == PHONE
    assert first["text"] == "第一条 first"
    assert [json.loads(x)["id"] for x in lines].count("job-1-a") == 1
    out = capsys.readouterr().out
    assert out.count(f"[SMS to {PHONE}] 第一条 first") == 1


async def test_the_job_delivers_an_sms_once_even_when_run_twice(fresh_db: Database, tmp_path):
    settings = _settings(tmp_path)
    register()
    register()  # idempotent
    async with fresh_db.transaction() as s:
        await request(
            s,
            channel="sms",
            to=PHONE,
            template="otp.login",
            locale="en",
            params={"minutes": 5},
            secret_params={"code": CODE},
            sealer=outbox_sealer(settings),
        )
    worker = Worker(fresh_db, registry, services={"settings": settings})
    assert await worker.run_until_idle() == 1
    async with fresh_db.transaction() as s:  # an operator (or a lost commit) runs it again
        await s.execute(text("UPDATE jobs SET status = 'queued', run_at = now()"))
    assert await worker.run_until_idle() == 1

    messages = _jsonl(settings.sms.outbox_path)
    assert len(messages) == 1
    assert messages[0]["text"] == (
        f"Your Qianbao sign-in code is {CODE}. It expires in 5 minutes. "
        "Never share it with anyone, including our staff."
    )


# -- (b) e-mail through a real SMTP server ---------------------------------------------------------


class Collector:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user"
        if address.startswith("busy@"):
            return "450 4.2.1 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Collector, int]]:
    collector = Collector()
    port = _free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield collector, port
    finally:
        controller.stop()


async def test_smtp_delivers_a_chinese_subject_body_and_attachment(smtp_server, tmp_path):
    collector, port = smtp_server
    settings = base_settings(
        email={
            "backend": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "from_address": "钱包 <no-reply@wallet.example>",
            "timeout_s": 5,
        }
    )
    sender = email_sender(settings)
    assert isinstance(sender, SmtpEmail)
    pdf = b"%PDF-1.4 statement \x00\x01\x02"
    message_id = await sender.send(
        to="li.wei@example.com",
        subject="您的钱包对账单",
        text="您好，附件是您的对账单。",
        html="<p>您好，附件是您的对账单。</p>",
        attachments=[("对账单-2024-05.pdf", "application/pdf", pdf)],
        headers={"X-Qianbao-Template": "statement"},
    )

    assert message_id.startswith("<") and message_id.endswith("@wallet.example>")
    [envelope] = collector.envelopes
    assert envelope.mail_from == "no-reply@wallet.example"
    assert envelope.rcpt_tos == ["li.wei@example.com"]
    msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert msg["Subject"] == "您的钱包对账单"
    assert msg["Message-ID"] == message_id
    assert msg["X-Qianbao-Template"] == "statement"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert _part(msg, "plain").strip() == "您好，附件是您的对账单。"
    assert "<p>您好" in _part(msg, "html")
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "对账单-2024-05.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == pdf


async def test_smtp_refusals_are_permanent_or_retryable_by_reply_code(smtp_server):
    _, port = smtp_server
    sender = SmtpEmail(from_address="no-reply@qb.test", host="127.0.0.1", port=port, timeout_s=5)
    with pytest.raises(DeliveryFailed) as refused:
        await sender.send(to="nobody@example.com", subject="s", text="secret body 1")
    assert not refused.value.retryable
    assert "secret body" not in str(refused.value)
    with pytest.raises(DeliveryFailed) as busy:
        await sender.send(to="busy@example.com", subject="s", text="t")
    assert busy.value.retryable

    closed = SmtpEmail(
        from_address="no-reply@qb.test", host="127.0.0.1", port=_free_port(), timeout_s=2
    )
    with pytest.raises(DeliveryFailed) as unreachable:
        await closed.send(to="li.wei@example.com", subject="s", text="t")
    assert unreachable.value.retryable


async def test_file_email_writes_one_eml_per_message_id(tmp_path):
    outbox = FileEmail(tmp_path / "mail", from_address="Qianbao <no-reply@qb.test>")
    first = await outbox.send(to="a@example.com", subject="你好", text="正文", message_id="<x1@qb>")
    again = await outbox.send(to="a@example.com", subject="你好", text="正文", message_id="<x1@qb>")
    other = await outbox.send(to="a@example.com", subject="Hi", text="body")
    assert first == again == "<x1@qb>"
    assert other.endswith("@qb.test>")
    files = outbox.files()
    assert len(files) == 2
    assert any(f.name.endswith("-x1_qb.eml") for f in files)
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] in {"你好", "Hi"}


# -- (c) Twilio's REST API, served by a real local HTTP server ------------------------------------


class TwilioServer:
    """A minimal HTTP/1.1 server that answers like Twilio's Messages resource."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *header_lines = head.split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (h.partition(":") for h in header_lines if h)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status, payload = self._answer(method, path, headers, body)
            data = json.dumps(payload).encode()
            writer.write(
                f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        finally:
            writer.close()

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        self.requests.append({"method": method, "path": path, "headers": headers, "form": form})
        expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if method != "POST" or path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
            return 404, {"code": 20404, "message": "The requested resource was not found"}
        if headers.get("authorization") != expected_auth:
            return 401, {"code": 20003, "message": "Authenticate"}
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return 400, {"code": 0, "message": "form expected"}
        if form["To"] == "+15005550001":
            return 400, {"code": 21211, "message": "Invalid 'To' Phone Number"}
        if form["To"] == "+15005550002":
            return 503, {"code": 20503, "message": "Service unavailable"}
        if "Body" not in form or not ({"From", "MessagingServiceSid"} & set(form)):
            return 400, {"code": 21602, "message": "Message body is required."}
        return 201, {"sid": f"SM{len(self.requests):032x}", "status": "queued"}


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioServer]:
    server = TwilioServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def _twilio_settings(tmp_path: Path, server: TwilioServer, sender: str = "+15005550006"):
    return _settings(
        tmp_path,
        backend="twilio",
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=sender,
        twilio_base_url=server.base_url,
        timeout_s=5,
    )


async def test_twilio_adapter_posts_the_documented_form_with_basic_auth(twilio, tmp_path):
    sender = sms_sender(_twilio_settings(tmp_path, twilio))
    assert isinstance(sender, TwilioSms)
    assert AUTH_TOKEN not in repr(sender)
    sid = await sender.send(PHONE, "您的验证码：123456", idempotency_key="job-1-x")
    assert sid == f"SM{1:032x}"
    [req] = twilio.requests
    assert req["form"] == {"To": PHONE, "From": "+15005550006", "Body": "您的验证码：123456"}

    service = sms_sender(_twilio_settings(tmp_path, twilio, sender="MG" + "f" * 32))
    await service.send(PHONE, "hello", idempotency_key="job-2-y")
    assert twilio.requests[1]["form"] == {
        "To": PHONE,
        "MessagingServiceSid": "MG" + "f" * 32,
        "Body": "hello",
    }


async def test_twilio_errors_are_permanent_or_retryable_and_never_leak(twilio, tmp_path):
    sender = sms_sender(_twilio_settings(tmp_path, twilio))
    with pytest.raises(DeliveryFailed) as invalid:
        await sender.send("+15005550001", "code 654321", idempotency_key="k1")
    assert not invalid.value.retryable
    assert invalid.value.provider_code == "21211"
    assert invalid.value.http_status == 400
    assert "Invalid 'To' Phone Number" in str(invalid.value)
    for leak in ("654321", AUTH_TOKEN):
        assert leak not in str(invalid.value)

    with pytest.raises(DeliveryFailed) as outage:
        await sender.send("+15005550002", "x", idempotency_key="k2")
    assert outage.value.retryable

    wrong_token = TwilioSms(
        account_sid=ACCOUNT_SID, auth_token="wrong", sender="+15005550006", base_url=twilio.base_url
    )
    with pytest.raises(DeliveryFailed) as unauthorised:
        await wrong_token.send(PHONE, "x", idempotency_key="k3")
    assert not unauthorised.value.retryable
    assert "wrong" not in str(unauthorised.value)

    nobody_home = TwilioSms(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        sender="+15005550006",
        base_url=f"http://127.0.0.1:{_free_port()}",
        timeout_s=2,
    )
    with pytest.raises(DeliveryFailed) as network:
        await nobody_home.send(PHONE, "x", idempotency_key="k4")
    assert network.value.retryable


def test_twilio_backend_names_missing_settings():
    with pytest.raises(RuntimeError, match="QIANBAO_SMS__TWILIO_AUTH_TOKEN"):
        sms_sender(base_settings(sms={"backend": "twilio", "twilio_account_sid": "AC1"}))


async def test_a_rejected_number_makes_the_job_dead_without_leaking_the_code(
    fresh_db: Database, tmp_path, twilio
):
    settings = _twilio_settings(tmp_path, twilio)
    async with fresh_db.transaction() as s:
        await request(
            s,
            channel="sms",
            to="+15005550001",
            template="otp.sign_up",
            locale="en",
            params={"minutes": 5},
            secret_params={"code": CODE},
            sealer=outbox_sealer(settings),
        )
    await Worker(
        fresh_db, registry, max_attempts=1, services={"settings": settings}
    ).run_until_idle()
    async with fresh_db.session() as s:
        job = (await s.execute(text("SELECT status, last_error FROM jobs"))).one()
    assert job.status == "dead"
    assert "DeliveryFailed" in job.last_error and "21211" in job.last_error
    assert CODE not in job.last_error
    assert CODE in twilio.requests[0]["form"]["Body"]  # it did reach the provider


# -- (d) end to end: request in a transaction, the worker delivers --------------------------------


async def test_a_committed_request_is_sealed_in_the_outbox_and_delivered_in_chinese(
    fresh_db: Database, tmp_path
):
    settings = _settings(tmp_path)
    sealer = outbox_sealer(settings)
    async with fresh_db.transaction() as s:
        await request(
            s,
            channel="sms",
            to=PHONE,
            template="otp.sign_up",
            locale="zh_CN",
            params={"minutes": 5},
            secret_params={"code": CODE},
            sealer=sealer,
        )
        await request(
            s,
            channel="email",
            to="li.wei@example.com",
            template="security.new_device",
            locale="zh_CN",
            params={"device": "Firefox, Linux"},
            sealer=sealer,
        )
    with contextlib.suppress(RuntimeError):
        async with fresh_db.transaction() as s:
            await request(
                s,
                channel="sms",
                to="+8613900139000",
                template="otp.login",
                locale="zh_CN",
                params={"minutes": 5},
                secret_params={"code": "111222"},
                sealer=sealer,
            )
            raise RuntimeError("the sign-up failed")

    async with fresh_db.session() as s:
        stored = (
            await s.execute(text("SELECT payload::text FROM outbox_messages ORDER BY id"))
        ).scalars()
        stored = list(stored)
    assert len(stored) == 2
    assert all(CODE not in row for row in stored)
    assert '"sealed"' in stored[0]

    assert await Worker(fresh_db, registry, services={"settings": settings}).run_until_idle() == 2
    [sms] = _jsonl(settings.sms.outbox_path)
    assert sms["to"] == PHONE
    assert CODE in sms["text"]
    assert sms["text"] == render("otp.sign_up", "sms", "zh_CN", {"code": CODE, "minutes": 5}).text
    assert "注册验证码" in sms["text"] and "5 分钟" in sms["text"]

    [eml] = FileEmail(settings.email.outbox_dir, from_address="").files()
    mail = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert mail["To"] == "li.wei@example.com"
    assert mail["Subject"] == "您的钱包账户有新的登录"
    assert mail["Message-ID"].endswith("@qb.test>") and mail["Message-ID"].startswith("<job-")
    assert "Firefox, Linux" in _part(mail, "plain")
    async with fresh_db.session() as s:
        statuses = (await s.execute(text("SELECT status FROM jobs"))).scalars().all()
    assert statuses == ["done", "done"]


async def test_request_refuses_secrets_in_clear_and_incomplete_messages(session, settings):
    sealer = outbox_sealer(settings)
    base: dict[str, Any] = {"channel": "sms", "to": PHONE, "template": "otp.login", "locale": "en"}
    with pytest.raises(ValueError, match="secret_params"):
        await request(session, **base, params={"minutes": 5, "code": CODE}, sealer=sealer)
    with pytest.raises(ValueError, match="needs code"):
        await request(session, **base, params={"minutes": 5}, sealer=sealer)
    with pytest.raises(ValueError, match=r"E\.164"):
        await request(
            session, **{**base, "to": "13800138000"}, params={"minutes": 5}, sealer=sealer
        )
    with pytest.raises(ValueError, match="unknown notification template"):
        await request(session, **{**base, "template": "otp.nope"}, params={}, sealer=sealer)


def test_every_template_renders_in_both_languages_with_its_placeholders():
    params = {
        "code": "123456",
        "minutes": 5,
        "amount": "¥100.00",
        "device": "iPhone",
        "who": "张*",
        "balance": "¥1.00",
        "reference": "2026112200001",
        "card": "•••• 4242",
        "fee": "¥1.10",
        "reason": "the bank declined the card",
        "date": "2026-11-22 12:20",  # support.chat_transcript
        "transcript": "--- You · 2026-11-22 12:20\nhello",
        "merchant": "钱包咖啡",  # merchants.*
        "day": "2026-11-21",
        "account": "招商银行 ****4242",
        "url": "https://shop.example/hooks",
        "payee": "李* 139****0001",  # otp.pay_step_up, risk.*
        "held": "¥200.00",  # disputes.*
        "refunded": "¥300.00",
        "currency": "CNY",  # bank.safeguarding_alert
        "method": "Alipay",  # wallet.topup_method_*
        "agent": "徐汇便民服务点",  # cash.*
        "document": "身份证正面",  # kyc.resubmit
        "budget": "¥500.00",  # wallet.budget_*
        "category": "餐饮",
        "percent": "80",
        "spent": "¥400.00",
        "month": "2026-12",
        "network": "TRC-20",  # wallet.usdt_*
        "agent_id": "QB-123456",  # support.*_replied
        "address": "TXYZ…",
        "txid": "8f1c…9a2b",
    }
    for name, template in TEMPLATES.items():
        for msgid in (template.sms, template.subject, template.body):
            assert gettext("zh_CN", msgid) != msgid, msgid  # translated in the catalog
        for locale in ("zh_CN", "en"):
            sms = render(name, "sms", locale, params)
            mail = render(name, "email", locale, params)
            assert "{" not in sms.text + (mail.subject or "") + mail.text, (name, locale)
        if name.startswith("otp."):
            assert "123456" in render(name, "sms", "zh_CN", params).text
    # A reason given as a msgid is shown in the reader's language.
    assert "银行拒绝了这张卡" in render("wallet.topup_failed", "sms", "zh_CN", params).text
    assert render("security.new_device", "sms", "en", params).text == (
        "A new device signed in to your Qianbao account: iPhone. "
        "If it was not you, freeze your account at once."
    )


def test_destinations_are_masked_for_logs():
    assert mask_destination("+8613800138000") == "+86138****8000"
    assert mask_destination("li.wei@example.com") == "l***@example.com"


def test_the_sms_outbox_writes_each_message_once_across_processes(tmp_path):
    import asyncio

    from qianbao.notifications.sms import OutboxSms

    path = tmp_path / "sms.jsonl"
    a = OutboxSms(path)
    asyncio.run(a.send("+8613800000001", "one", idempotency_key="k1"))
    process_a = dict(OutboxSms._seen)  # what process A knows: the file up to "one"
    OutboxSms._seen.clear()  # process B knows nothing of the file yet
    b = OutboxSms(path)
    asyncio.run(b.send("+8613800000001", "two", idempotency_key="k2"))
    asyncio.run(b.send("+8613800000001", "one again", idempotency_key="k1"))
    OutboxSms._seen.clear()
    OutboxSms._seen.update(process_a)  # back in A: it reads only what B appended
    asyncio.run(a.send("+8613800000001", "two again", idempotency_key="k2"))
    assert [m["text"] for m in a.messages()] == ["one", "two"]
    path.write_text("")  # truncated: read again from the start
    asyncio.run(a.send("+8613800000001", "one", idempotency_key="k1"))
    assert [m["id"] for m in a.messages()] == ["k1"]
