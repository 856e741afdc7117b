"""Attachment checks: the type is decided by the content (magic bytes), not the file name; the
name's extension must agree with it (``qianbao.kernel.uploads``). Accepted: PNG, JPEG, PDF and
plain text (UTF-8)."""

from __future__ import annotations

from qianbao.kernel.uploads import (
    EXTENSIONS,
    CheckedUpload,
    Upload,
    checked_kind,
    human_size,
    safe_filename,
    sniff,
)
from qianbao.support.tickets.errors import AttachmentRefused, AttachmentTooLarge, TooManyAttachments


def check(uploads: list[Upload], *, max_bytes: int, max_count: int) -> list[CheckedUpload]:
    """All uploads checked, or the first refusal (nothing is kept then)."""
    uploads = [u for u in uploads if u.data or u.filename]
    if len(uploads) > max_count:
        raise TooManyAttachments(limit=max_count)
    checked = []
    for u in uploads:
        name = safe_filename(u.filename)
        if len(u.data) > max_bytes:
            raise AttachmentTooLarge(name=name, limit=human_size(max_bytes))
        found = checked_kind(u, tuple(EXTENSIONS))
        if found is None:
            raise AttachmentRefused(name=name)
        checked.append(found)
    return checked


__all__ = ["CheckedUpload", "Upload", "check", "human_size", "safe_filename", "sniff"]
