"""Identity verification settings (A8): ``QIANBAO_KYC__*``. Part of :mod:`qianbao.settings`."""

from __future__ import annotations

from pydantic import BaseModel


class KycSettings(BaseModel):
    """Identity verification: tier 1 (name and ID number) and tier 2 (documents)."""
