"""Background work of the ticket desk: sending agent replies and transcripts by e-mail."""

from __future__ import annotations

from qianbao.support.tickets.mail_out import TASK, TOPIC, send
from qianbao.worker import TaskRegistry, registry


def register(tasks: TaskRegistry = registry) -> None:
    tasks.register(TASK, send, subscribes=[TOPIC])
