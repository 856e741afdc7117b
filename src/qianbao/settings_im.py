"""WeChat Official Account and Telegram bot settings: ``QIANBAO_IM__*``. Part of
:mod:`qianbao.settings`."""

from __future__ import annotations

from pydantic import BaseModel


class ImSettings(BaseModel):
    """Messaging channels (E8)."""
