"""The operator's published contact details (settings ``support``) as the values of the help
articles' placeholders (``helpcenter.render.PLACEHOLDERS``), in the reader's language."""

from __future__ import annotations

from qianbao.settings import SupportSettings
from qianbao.support.channels import hours


def website(cfg: SupportSettings) -> str:
    return cfg.website if "://" in cfg.website else f"https://{cfg.website}"


def contact_values(cfg: SupportSettings, locale: str) -> dict[str, str]:
    return {
        "hotline": cfg.hotline,
        "hotline_hours": hours.describe(hours.hours_of(cfg), locale),
        "support_email": cfg.email,
        "website": website(cfg),
    }
