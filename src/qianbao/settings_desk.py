"""Settings of the customer service desk (tickets, contact channels, live chat): groups of
``qianbao.settings.Settings``, kept here so the main settings module stays readable. Set them as
``QIANBAO_TICKETS__…``, ``QIANBAO_SUPPORT__…`` and ``QIANBAO_CHAT__…``."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class TicketsSettings(BaseModel):
    """Support tickets (E3, E5, E6, E7): SLA targets, attachments, the inbound mail listener."""

    first_response_hours: dict[str, float] = Field(
        default_factory=lambda: {"urgent": 1.0, "high": 4.0, "normal": 8.0, "low": 24.0},
        description="First-response target per priority, in business hours.",
    )
    resolution_hours: dict[str, float] = Field(
        default_factory=lambda: {"urgent": 8.0, "high": 24.0, "normal": 40.0, "low": 80.0},
        description="Resolution target per priority, in business hours.",
    )
    business_open_hour: int = Field(default=9, description="Business hours start (China time).")
    business_close_hour: int = Field(default=18, description="Business hours end (China time).")
    max_attachment_bytes: int = Field(
        default=5_242_880, description="Largest attachment kept (PNG, JPEG, PDF or plain text)."
    )
    max_attachments: int = Field(default=5, description="Attachments per message.")
    max_body_chars: int = Field(default=20_000, description="Longest message text.")
    mail_host: str = Field(
        default="127.0.0.1", description="Address `qianbao support-mail` listens on (SMTP)."
    )
    mail_port: int = Field(default=2525, description="Port of the inbound SMTP listener.")
    mail_max_bytes: int = Field(
        default=26_214_400, description="Largest inbound e-mail accepted (SMTP SIZE)."
    )
    reply_address: str | None = Field(
        default=None,
        description="From address of agent replies (customers answer to it). "
        "Unset: the e-mail from_address.",
    )


class DeskHoursSettings(BaseModel):
    """The ONE calendar of the desk (``support.desk_calendar``): the live chat, the hotline and
    call-back slots open by it (China time). Set as ``QIANBAO_SUPPORT__HOURS__…``. An agent's
    shift (the rota, /console/rota) staffs the chat outside it too. Ticket SLAs count their own
    business hours (``tickets.business_open_hour``–``business_close_hour``, business days),
    which should lie within these.

    Replaces ``chat.opens_at`` / ``closes_at`` / ``business_days_only`` and
    ``support.hotline_open`` / ``hotline_close`` / ``hotline_days`` (deprecated: still read when
    set and these are not, with a warning in the log)."""

    opens: str = Field(default="08:00", description="Opens (HH:MM, China time).")
    closes: str = Field(default="22:00", description="Closes (HH:MM; 24:00 = midnight).")
    days: list[int] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5, 6, 7],
        description="Open weekdays, ISO numbers (1 = Monday … 7 = Sunday).",
    )
    weekly: dict[int, str] = Field(
        default_factory=dict,
        description='Other hours on some weekdays: {"6": "10:00-16:00", "7": "closed"}.',
    )
    holidays_closed: bool = Field(
        default=False,
        description="Closed on public holidays (payments.holidays); weekend days worked instead "
        "(payments.workdays) open with Monday's hours.",
    )
    exceptions: dict[date, str] = Field(
        default_factory=dict,
        description='Single days: {"2026-12-31": "08:00-18:00", "2027-01-01": "closed"}.',
    )
    always_open: bool = Field(default=False, description="7×24: every day 00:00–24:00.")
    callback_slot_minutes: int = Field(
        default=60, ge=15, le=240, description="Length of a call-back slot."
    )
    callback_slot_capacity: int = Field(
        default=3, ge=1, le=100, description="Call-backs booked per slot at most."
    )
    callback_slots_shown: int = Field(
        default=6, ge=1, le=30, description="How many free slots the chat offers."
    )


class SupportSettings(BaseModel):
    """How customers reach us (E4), shown on /contact and seeded into the official-channel
    registry (D6) that /verify answers from."""

    hotline: str = Field(
        default="400-000-1234", description="Customer service hotline (any format; +country)."
    )
    hours: DeskHoursSettings = Field(default_factory=DeskHoursSettings)
    hotline_open: str = Field(default="08:00", description="Deprecated: use hours.opens.")
    hotline_close: str = Field(default="22:00", description="Deprecated: use hours.closes.")
    hotline_days: list[int] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5, 6, 7],
        description="Deprecated: use hours.days.",
    )
    email: str = Field(default="support@qianbao.example", description="Support e-mail address.")
    website: str = Field(default="https://qianbao.example", description="The official website.")
    social_accounts: dict[str, str] = Field(
        default_factory=dict,
        description='Official social accounts, platform -> handle: {"WeChat": "QianbaoWallet"}.',
    )
    verify_max_lookups: int = Field(
        default=30, description="Channel lookups (/verify) allowed per client IP and window."
    )
    verify_window_s: int = Field(default=600, description="The window of verify_max_lookups.")


class ChatSettings(BaseModel):
    """Live chat (docs/support.md): business hours in China Standard Time, agents' capacity,
    images, how long the customer is told to wait."""

    opens_at: int = Field(default=8, ge=0, le=23, description="Deprecated: support.hours.opens.")
    closes_at: int = Field(default=22, ge=1, le=24, description="Deprecated: support.hours.closes.")
    business_days_only: bool = Field(
        default=False,
        description="Deprecated: support.hours.days and holidays_closed.",
    )
    default_capacity: int = Field(default=3, ge=1, le=50)
    max_capacity: int = Field(default=10, ge=1, le=50)
    max_message_chars: int = 2000
    max_image_bytes: int = Field(default=2_000_000, description="Largest image a customer sends.")
    queue_reply_minutes: int = Field(
        default=30, description="In business hours with no agent free: the reply time promised."
    )
    bot_articles: int = 3
    reply_notice_after_s: int = Field(
        default=60,
        ge=0,
        description="An agent's chat answer still unread after this long is announced to the "
        "customer (in-app, and SMS / e-mail as they chose); once per unread run.",
    )
    max_messages_per_minute: int = Field(
        default=20,
        ge=0,
        description="Messages and images a customer may send per minute (0: no limit).",
    )
    visitor_cookie: str = "qb_chat_visitor"
    presence_ttl_s: int = Field(
        default=90,
        ge=15,
        description="An online agent whose console was not seen for this long gets no new chats.",
    )
    abandon_after_s: int = Field(
        default=300,
        ge=30,
        description="After this long unseen the agent is set offline and their open chats are "
        "handed on (another agent, the queue keeping their place, or a ticket).",
    )
