"""The screenshots a customer gives with a claim (D4): PNG, JPEG or PDF, the type read from the
content; kept with the case, shown to its agents and copied to its ticket."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from qianbao.disputes.errors import ScreenshotRefused
from qianbao.disputes.models import Case, CaseFile
from qianbao.kernel.clock import clock_of
from qianbao.kernel.uploads import CheckedUpload, Upload, checked_kind, human_size, safe_filename

ACCEPTED = ("image/png", "image/jpeg", "application/pdf")
MAX_BYTES = 5 * 1024 * 1024
MAX_COUNT = 5


def check(uploads: list[Upload]) -> list[CheckedUpload]:
    """All of them checked, or the first refusal (then nothing is kept)."""
    uploads = [u for u in uploads if u.data or u.filename]
    limits = {"limit": human_size(MAX_BYTES), "count": MAX_COUNT}
    if len(uploads) > MAX_COUNT:
        raise ScreenshotRefused(name=safe_filename(uploads[MAX_COUNT].filename), **limits)
    checked = []
    for u in uploads:
        found = checked_kind(u, ACCEPTED) if len(u.data) <= MAX_BYTES else None
        if found is None:
            raise ScreenshotRefused(name=safe_filename(u.filename), **limits)
        checked.append(found)
    return checked


async def add(session: Any, case: Case, files: list[CheckedUpload]) -> None:
    already = len(await of_case(session, case.id))
    if already + len(files) > MAX_COUNT:
        raise ScreenshotRefused(
            name=files[0].filename, limit=human_size(MAX_BYTES), count=MAX_COUNT
        )
    now = clock_of(session).now()
    for f in files:
        session.add(
            CaseFile(
                case_id=case.id,
                filename=f.filename,
                content_type=f.content_type,
                size=len(f.data),
                data=f.data,
                created_at=now,
            )
        )
    await session.flush()


async def of_case(session: Any, case_id: uuid.UUID) -> list[CaseFile]:
    rows = await session.execute(
        select(CaseFile).where(CaseFile.case_id == case_id).order_by(CaseFile.created_at)
    )
    return list(rows.scalars())


async def get(session: Any, case: Case, file_id: str) -> CaseFile | None:
    """One of this case's files with its bytes (None: not this case's)."""
    try:
        wanted = uuid.UUID(str(file_id))
    except ValueError:
        return None
    row = await session.get(CaseFile, wanted, options=[])
    if row is None or row.case_id != case.id:
        return None
    await session.refresh(row, ["data"])
    return row


async def contents(session: Any, case_id: uuid.UUID) -> list[CheckedUpload]:
    """The case's files with their bytes (to copy them to the case's ticket)."""
    rows = await session.execute(
        select(CaseFile.filename, CaseFile.content_type, CaseFile.data)
        .where(CaseFile.case_id == case_id)
        .order_by(CaseFile.created_at)
    )
    return [CheckedUpload(name, kind, data) for name, kind, data in rows]
