"""Settings of the customer service desk (tickets, contact channels, live chat): groups of
``qianbao.settings.Settings``, kept here so the main settings module stays readable. Set them as
``QIANBAO_TICKETS__…``, ``QIANBAO_SUPPORT__…`` and ``QIANBAO_CHAT__…``."""

from __future__ import annotations

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


class SupportSettings(BaseModel):
    """How customers reach us (E4), shown on /contact and seeded into the official-channel
    registry (D6) that /verify answers from."""

    hotline: str = Field(
        default="400-000-1234", description="Customer service hotline (any format; +country)."
    )
    hotline_open: str = Field(default="09:00", description="Hotline opens (HH:MM, China time).")
    hotline_close: str = Field(default="21:00", description="Hotline closes (HH:MM, China time).")
    hotline_days: list[int] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5, 6, 7],
        description="Days the hotline is staffed, ISO numbers (1 = Monday … 7 = Sunday).",
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

    opens_at: int = Field(default=8, ge=0, le=23, description="Hour the desk opens (local).")
    closes_at: int = Field(default=22, ge=1, le=24, description="Hour it closes (24 = midnight).")
    business_days_only: bool = Field(
        default=False,
        description="Closed on weekends and public holidays (payments.holidays / workdays).",
    )
    default_capacity: int = Field(default=3, ge=1, le=50)
    max_capacity: int = Field(default=10, ge=1, le=50)
    max_message_chars: int = 2000
    max_image_bytes: int = Field(default=2_000_000, description="Largest image a customer sends.")
    queue_reply_minutes: int = Field(
        default=30, description="In business hours with no agent free: the reply time promised."
    )
    bot_articles: int = 3
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
    reply_notice_after_s: int = Field(
        default=60,
        ge=0,
        description="An agent's chat answer still unread after this long is announced to the "
        "customer (in-app, and SMS / e-mail as they chose); once per unread run.",
    )
