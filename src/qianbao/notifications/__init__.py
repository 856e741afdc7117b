"""Notifications: SMS and e-mail, sent by a job after the asking transaction commits.

Domains call ``request`` inside their transaction (one-time codes in ``secret_params``, sealed
in the outbox); the ``notifications.deliver`` job renders the template in the user's language and
sends it through the configured backend (``QIANBAO_SMS__BACKEND``, ``QIANBAO_EMAIL__BACKEND``).
The composition root calls ``register()`` so a worker runs the job.
"""

from qianbao.notifications.email import (
    EmailSender,
    FileEmail,
    SmtpEmail,
    build_message,
    email_sender,
    new_message_id,
)
from qianbao.notifications.errors import DeliveryFailed, mask_destination
from qianbao.notifications.service import TOPIC, message, outbox_sealer, request, request_many
from qianbao.notifications.sms import OutboxSms, SmsSender, TwilioSms, sms_sender
from qianbao.notifications.tasks import TASK, Delivery, deliver, recent_deliveries, register
from qianbao.notifications.templates import TEMPLATES, RenderedMessage, Template, render

__all__ = [
    "TASK",
    "TEMPLATES",
    "TOPIC",
    "Delivery",
    "DeliveryFailed",
    "EmailSender",
    "FileEmail",
    "OutboxSms",
    "RenderedMessage",
    "SmsSender",
    "SmtpEmail",
    "Template",
    "TwilioSms",
    "build_message",
    "deliver",
    "email_sender",
    "mask_destination",
    "message",
    "new_message_id",
    "outbox_sealer",
    "recent_deliveries",
    "register",
    "render",
    "request",
    "request_many",
    "sms_sender",
]
