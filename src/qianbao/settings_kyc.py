"""Identity verification settings (A8): ``QIANBAO_KYC__*``. Part of :mod:`qianbao.settings`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class KycSettings(BaseModel):
    """Identity verification: tier 1 (name and ID number) and tier 2 (documents)."""

    min_age_years: int = Field(
        default=16, ge=0, le=30, description="The youngest a person may be to verify (tier 1)."
    )
    basic_attempts_per_day: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Refused tier-1 attempts a user may make in 24 hours (a wrong number, a "
        "number already in use, a mismatch): then tier 1 waits, so ID numbers cannot be probed.",
    )
    max_upload_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=64 * 1024,
        description="Largest photo accepted, counted while it is read (a larger one is refused "
        "without being kept whole). The request guard's QIANBAO_HTTP__MAX_UPLOAD_BYTES refuses "
        "any multipart body above its own, larger, cap first.",
    )
    max_image_pixels: int = Field(
        default=50_000_000,
        ge=1_000_000,
        description="Most pixels a photo may decode to (width × height): a small file that "
        "would unpack into gigabytes (a decompression bomb) is refused before it is decoded. "
        "JPEG photos are decoded at a reduced scale first, so a large camera photo still passes.",
    )
    max_side_px: int = Field(
        default=2000,
        ge=400,
        le=8000,
        description="Stored photos are scaled down to at most this many pixels on their "
        "longer side (enough to read an ID card; less to keep).",
    )
    jpeg_quality: int = Field(default=85, ge=50, le=95, description="Quality of stored photos.")
    review_due_hours: int = Field(
        default=24,
        ge=1,
        description="An application waiting longer than this is shown as overdue in the "
        "console's queue (the customer is told 'usually within one business day').",
    )
