"""The delivery job: ``notifications.deliver`` runs once per ``notifications.requested`` message.

It opens the sealed parameters, renders the template in the requested language and hands the
message to the configured backend. The idempotency key ``job-<job id>-<notification id>`` is the
SMS record id and the e-mail Message-ID: the development backends skip a key they already hold,
and this process remembers what it sent, so a retried job does not send twice.

A ``DeliveryFailed`` is logged (``notification_failed``: channel, template, masked destination,
never the text) and raised; the worker retries it with back-off until ``max_attempts``.
"""

from __future__ import annotations

import json
from collections import OrderedDict, deque
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from qianbao.kernel.crypto import SealError
from qianbao.kernel.logging import get_logger
from qianbao.notifications.email import EmailSender, email_sender, new_message_id
from qianbao.notifications.errors import DeliveryFailed, mask_destination
from qianbao.notifications.service import TOPIC, outbox_sealer, sealed_aad
from qianbao.notifications.sms import SmsSender, sms_sender
from qianbao.notifications.templates import render
from qianbao.worker import JobContext, TaskRegistry, registry

TASK = "notifications.deliver"
log = get_logger(__name__)


@dataclass(frozen=True)
class Delivery:
    """What this process delivered (no text, masked destination)."""

    key: str
    channel: str
    template: str
    to: str
    provider_id: str
    at: datetime


_recent: deque[Delivery] = deque(maxlen=1000)
_sent: OrderedDict[str, str] = OrderedDict()
_SENT_LIMIT = 10_000


def recent_deliveries() -> list[Delivery]:
    """The last deliveries made by this process, oldest first."""
    return list(_recent)


def delivery_key(job_id: int, payload: dict[str, Any]) -> str:
    """Stable across retries of one job; unique across databases thanks to the random ``nid``."""
    return f"job-{job_id}-{payload.get('nid', 'x')}"


def _remember(delivery: Delivery) -> None:
    _recent.append(delivery)
    _sent[delivery.key] = delivery.provider_id
    while len(_sent) > _SENT_LIMIT:
        _sent.popitem(last=False)


def _params(settings: Any, payload: dict[str, Any]) -> dict[str, Any]:
    params = dict(payload.get("params") or {})
    sealed = payload.get("sealed")
    if sealed:
        try:
            opened = outbox_sealer(settings).open(sealed, aad=sealed_aad(payload))
        except SealError:
            raise DeliveryFailed(
                "sealed parameters cannot be opened (was the secret key changed?)",
                retryable=False,
            ) from None
        params.update(json.loads(opened))
    return params


@registry.task(TASK, subscribes=[TOPIC])
async def deliver(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Send one requested notification (see the module docstring)."""
    settings = ctx.services["settings"]
    channel, to, template = payload["channel"], payload["to"], payload["template"]
    key = delivery_key(ctx.job_id, payload)
    where = {"channel": channel, "template": template, "to": mask_destination(to)}
    if key in _sent:
        log.info("notification_already_sent", job_id=ctx.job_id, **where)
        return
    try:
        message = render(template, channel, payload["locale"], _params(settings, payload))
        if channel == "sms":
            sms: SmsSender = ctx.services.get("sms_sender") or sms_sender(settings, ctx.clock)
            provider_id = await sms.send(to, message.text, idempotency_key=key)
        else:
            mail: EmailSender = ctx.services.get("email_sender") or email_sender(
                settings, ctx.clock
            )
            provider_id = await mail.send(
                to=to,
                subject=message.subject or "",
                text=message.text,
                message_id=new_message_id(settings.email.from_address, key),
            )
    except DeliveryFailed as exc:
        log.warning(
            "notification_failed",
            job_id=ctx.job_id,
            attempt=ctx.attempt,
            retryable=exc.retryable,
            error=str(exc),
            **where,
        )
        raise
    except ValueError as exc:  # an unknown template or a missing parameter: a bug upstream
        log.error("notification_failed", job_id=ctx.job_id, error=str(exc), **where)
        raise
    _remember(Delivery(key, channel, template, where["to"], provider_id, ctx.clock.now()))
    log.info("notification_sent", job_id=ctx.job_id, provider_id=provider_id, **where)


async def deliver_many(ctx: JobContext, jobs: list[tuple[int, dict[str, Any]]]) -> None:
    """``deliver`` for many jobs: the text messages are rendered, then handed to the backend
    together when it takes a batch (the development outbox: one file lock and one write for
    all); e-mails go one by one. Any failure fails the batch, and the worker then delivers
    job by job (what went out is remembered and not sent twice)."""
    settings = ctx.services["settings"]
    texts: list[tuple[int, dict[str, Any], str, str]] = []  # job id, payload, key, text
    for job_id, payload in jobs:
        key = delivery_key(job_id, payload)
        if payload["channel"] != "sms" or key in _sent:
            await deliver(replace(ctx, job_id=job_id), payload)
            continue
        message = render(payload["template"], "sms", payload["locale"], _params(settings, payload))
        texts.append((job_id, payload, key, message.text))
    if not texts:
        return
    sms: SmsSender = ctx.services.get("sms_sender") or sms_sender(settings, ctx.clock)
    send_many = getattr(sms, "send_many", None)
    if send_many is not None:
        provider_ids = await send_many([(p["to"], text, key) for _, p, key, text in texts])
    else:
        provider_ids = [
            await sms.send(p["to"], text, idempotency_key=key) for _, p, key, text in texts
        ]
    now = ctx.clock.now()
    for (job_id, payload, key, _), provider_id in zip(texts, provider_ids, strict=True):
        to = mask_destination(payload["to"])
        _remember(Delivery(key, "sms", payload["template"], to, provider_id, now))
        log.info(
            "notification_sent", job_id=job_id, provider_id=provider_id, channel="sms",
            template=payload["template"], to=to,
        )  # fmt: skip


def register(tasks: TaskRegistry = registry) -> None:
    """Subscribe ``deliver`` to ``notifications.requested`` (idempotent; for the composition
    root, and for workers built on their own ``TaskRegistry``)."""
    tasks.register(TASK, deliver, subscribes=[TOPIC], batch=deliver_many)
