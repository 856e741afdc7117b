"""WeChat and Telegram channels (E8): linked accounts, one-time link codes, external conversations

A conversation says where the customer writes from (``chat_conversations.channel``: web,
wechat, telegram); ``im_conversations`` names the chat account its answers go to;
``im_outbound`` holds what the worker sends; ``im_inbound`` the pushes already handled.

Revision ID: 0036
Revises: 0035
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "chat_conversations",
        sa.Column("channel", sa.String(length=16), server_default="web", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_chat_conversations_channel_known"),
        "chat_conversations",
        "channel IN ('web', 'wechat', 'telegram')",
    )
    op.create_table(
        "im_links",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("peer_id", sa.String(length=128), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('wechat', 'telegram')", name=op.f("ck_im_links_channel_known")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_im_links_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_im_links")),
        sa.UniqueConstraint("channel", "peer_id", name=op.f("uq_im_links_channel_peer_id")),
        sa.UniqueConstraint("user_id", "channel", name=op.f("uq_im_links_user_id_channel")),
    )
    op.create_table(
        "im_link_codes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_im_link_codes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_im_link_codes")),
    )
    op.create_index(op.f("ix_im_link_codes_code_hash"), "im_link_codes", ["code_hash"])
    op.create_index(op.f("ix_im_link_codes_user_id"), "im_link_codes", ["user_id"])
    op.create_table(
        "im_link_failures",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("peer_id", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_im_link_failures")),
    )
    op.create_index("ix_im_link_failures_peer_at", "im_link_failures", ["channel", "peer_id", "at"])
    op.create_table(
        "im_inbound",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("channel", "external_id", name=op.f("pk_im_inbound")),
    )
    op.create_table(
        "im_conversations",
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("peer_id", sa.String(length=128), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["chat_conversations.id"],
            name=op.f("fk_im_conversations_conversation_id_chat_conversations"),
        ),
        sa.PrimaryKeyConstraint("conversation_id", "channel", name=op.f("pk_im_conversations")),
    )
    op.create_table(
        "im_outbound",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("peer_id", sa.String(length=128), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("conversation_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('wechat', 'telegram')", name=op.f("ck_im_outbound_channel_known")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name=op.f("ck_im_outbound_status_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_im_outbound")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_im_outbound_dedup_key")),
    )
    op.create_index(
        "ix_im_outbound_due",
        "im_outbound",
        ["next_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_im_outbound_due", table_name="im_outbound")
    op.drop_table("im_outbound")
    op.drop_table("im_conversations")
    op.drop_table("im_inbound")
    op.drop_index("ix_im_link_failures_peer_at", table_name="im_link_failures")
    op.drop_table("im_link_failures")
    op.drop_index(op.f("ix_im_link_codes_user_id"), table_name="im_link_codes")
    op.drop_index(op.f("ix_im_link_codes_code_hash"), table_name="im_link_codes")
    op.drop_table("im_link_codes")
    op.drop_table("im_links")
    op.drop_constraint(
        op.f("ck_chat_conversations_channel_known"), "chat_conversations", type_="check"
    )
    op.drop_column("chat_conversations", "channel")
