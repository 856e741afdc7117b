"""Is the chat desk staffed now, who may take a chat, and what reply time can be promised: the
desk calendar (``support.desk_calendar``) with the agents' shifts (``support.rota``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from qianbao.support.desk_calendar import Shift, expected_reply, next_staffed, on_shift
from qianbao.support.rota import service as rota

if TYPE_CHECKING:
    from qianbao.support.chat.service import Config


@dataclass(frozen=True)
class DeskState:
    now: datetime
    calendar_open: bool
    on_shift: frozenset[uuid.UUID]
    next_staffed: datetime  # now when staffed
    reply_by: datetime  # what a customer asking now is promised
    shifts: tuple[Shift, ...] = field(default=())

    @property
    def staffed(self) -> bool:
        return self.calendar_open or bool(self.on_shift)

    def may_take(self, agent_id: uuid.UUID) -> bool:
        """Within the calendar any online agent takes chats; outside it only those on shift."""
        return self.calendar_open or agent_id in self.on_shift


async def state(s: Any, cfg: Config, at: datetime | None = None) -> DeskState:
    now = at or cfg.now()
    shifts = tuple(await rota.shifts(s))
    return DeskState(
        now=now,
        calendar_open=cfg.hours.is_open(now),
        on_shift=frozenset(on_shift(shifts, now)),
        next_staffed=next_staffed(cfg.hours, shifts, now),
        reply_by=expected_reply(cfg.hours, now, cfg.queue_reply_minutes, shifts),
        shifts=shifts,
    )
