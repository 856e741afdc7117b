"""Statement files from outside: the watched folder (``bank.inbox_dir``), the command
(``qianbao bank import FILE``) and the console's upload all end in ``import_one``: one file,
one transaction. The worker looks into the folder every ``bank.watch_interval_s``: a file is
imported, then moved to ``done/``; a refused one goes to ``failed/`` with ``<name>.txt`` saying
why (in English; the console shows it in the operator's language). Write files into the folder
under a name starting with "." or ending in ".part" and rename them when complete: those are
left alone."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qianbao.banking.importer import ImportResult, import_file
from qianbao.banking.payout_files import StatusResult, import_status_report, is_status_report
from qianbao.kernel.errors import DomainError
from qianbao.kernel.i18n import Message
from qianbao.kernel.logging import get_logger
from qianbao.kernel.money import Money
from qianbao.kernel.translations import gettext

log = get_logger(__name__)


def describe(error: DomainError, locale: str = "en") -> str:
    """A refusal as one sentence in ``locale`` (reasons marked with N_ translated too)."""
    data = {k: v.text() if isinstance(v, Money) else v for k, v in error.params.items()}
    params = {
        k: gettext(locale, v, **data) if isinstance(v, Message) else v for k, v in data.items()
    }
    return gettext(locale, error.message, **params)


async def import_one(
    db: Any, settings: Any, data: bytes, *, filename: str, source: str, by: uuid.UUID | None = None
) -> ImportResult | StatusResult:
    """A statement file, or the bank's pain.002 status report on our payout file."""
    async with db.transaction() as session:
        if is_status_report(data):
            return await import_status_report(
                session, settings, data, filename=filename, by=by, source=source
            )
        return await import_file(session, settings, data, filename=filename, source=source, by=by)


@dataclass(frozen=True)
class FolderOutcome:
    name: str
    imported: ImportResult | StatusResult | None
    refused: str | None


def _waiting(inbox: Path) -> list[Path]:
    if not inbox.is_dir():
        return []
    return sorted(
        p
        for p in inbox.iterdir()
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".part")
    )


def _move(path: Path, folder: Path, note: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}-{uuid.uuid4().hex[:8]}{path.suffix}"
    try:
        path.rename(target)
    except FileNotFoundError:
        return  # another worker took it
    if note is not None:
        target.with_name(target.name + ".txt").write_text(note + "\n", encoding="utf-8")


async def import_folder(db: Any, settings: Any) -> list[FolderOutcome]:
    inbox = Path(settings.bank.inbox_dir)
    outcomes = []
    for path in await asyncio.to_thread(_waiting, inbox):
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            continue
        try:
            result = await import_one(db, settings, data, filename=path.name, source="folder")
        except DomainError as error:
            reason = f"{error.code}: {describe(error)}"
            log.warning("bank.folder_import_refused", file=path.name, code=error.code)
            await asyncio.to_thread(_move, path, inbox / "failed", reason)
            outcomes.append(FolderOutcome(path.name, None, reason))
            continue
        log.info("bank.folder_imported", file=path.name, new=result.new)
        await asyncio.to_thread(_move, path, inbox / "done")
        outcomes.append(FolderOutcome(path.name, result, None))
    return outcomes
