"""Uploaded files (a ticket's attachments, a claim's screenshots): the type is decided by the
content (magic bytes), not the file name; the name's extension must agree with it. Accepted:
PNG, JPEG, PDF and plain text (UTF-8); a caller may accept fewer."""

from __future__ import annotations

import re
from dataclasses import dataclass

EXTENSIONS = {
    "image/png": {"png"},
    "image/jpeg": {"jpg", "jpeg"},
    "application/pdf": {"pdf"},
    "text/plain": {"txt", "log", "csv", "text"},
}


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class CheckedUpload:
    filename: str
    content_type: str
    data: bytes


def sniff(data: bytes) -> str | None:
    """The content type the bytes really are, among those accepted; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    return "text/plain" if controls == 0 else None


def safe_filename(name: str) -> str:
    """The last path component, without control characters or quotes, at most 120 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r'[\x00-\x1f\x7f"<>]', "", base).strip().strip(".") or "attachment"
    return base[-120:]


def human_size(n: int) -> str:
    return f"{n / 1_048_576:.0f} MB" if n >= 1_048_576 else f"{n // 1024} KB"


def checked_kind(u: Upload, accepted: tuple[str, ...]) -> CheckedUpload | None:
    """The upload with its real type, or None when it is none of ``accepted`` or its name's
    extension says something else."""
    name = safe_filename(u.filename)
    kind = sniff(u.data) if u.data else None
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    if kind is None or kind not in accepted or ext not in EXTENSIONS[kind]:
        return None
    return CheckedUpload(name, kind, u.data)
