"""Generate the Traditional Chinese (zh_Hant) files from the Simplified ones, with OpenCC.

    python tools/hant_catalog.py            # write them
    python tools/hant_catalog.py --check    # exit 1 when a committed file is not up to date
    python tools/hant_catalog.py --out DIR  # write them under DIR instead (same layout)

What it writes (never edit these by hand: corrections go to locale/zh_Hant/overrides.toml):
- src/qianbao/locale/zh_Hant/LC_MESSAGES/messages.po from the zh_CN catalog: every msgstr
  converted (``qianbao.kernel.hant.to_hant``: s2twp, then the ``[phrases]`` overrides), or the
  ``[messages]`` override of its msgid; flags, comments and locations kept;
- the legal pages' zh_Hant templates (web/templates/public/legal/*.zh_CN.html).

``make extract-messages`` and ``make translations`` run it, so the catalog follows zh_CN.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from qianbao.kernel.hant import OVERRIDES, overrides, to_hant

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "qianbao"
ZH_PO = SRC / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
HANT_PO = Path("src/qianbao/locale/zh_Hant/LC_MESSAGES/messages.po")
LEGAL = Path("src/qianbao/web/templates/public/legal")
GENERATED = (
    "{# Generated from %s by tools/hant_catalog.py (OpenCC s2twp): do not edit; "
    "corrections go to src/qianbao/locale/zh_Hant/overrides.toml #}\n"
)


def catalog_text() -> bytes:
    """The zh_Hant catalog, as bytes of a .po file."""
    with ZH_PO.open("rb") as fh:
        catalog: Catalog = read_po(fh)
    catalog.locale = "zh_Hant"  # type: ignore[assignment]
    catalog.language_team = "zh_Hant"
    catalog.header_comment = (
        "# Chinese (Traditional) translations for Qianbao: GENERATED from zh_CN by\n"
        "# tools/hant_catalog.py (OpenCC s2twp). Do not edit; corrections go to\n"
        f"# {OVERRIDES.relative_to(ROOT)}.\n#"
    )
    fixed = overrides()["messages"]
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        if isinstance(message.string, tuple):
            message.string = tuple(fixed.get(key) or to_hant(s) for s in message.string)
        elif message.string or key in fixed:
            message.string = fixed.get(key) or to_hant(message.string)
    out = io.BytesIO()
    write_po(out, catalog, width=100, sort_output=True, ignore_obsolete=True)
    return out.getvalue()


def outputs() -> dict[Path, bytes]:
    """Every generated file (relative to the repository) and its content."""
    files = {HANT_PO: catalog_text()}
    for source in sorted((ROOT / LEGAL).glob("*.zh_CN.html")):
        target = LEGAL / source.name.replace(".zh_CN.", ".zh_Hant.")
        body = to_hant(source.read_text("utf-8"))
        files[target] = (GENERATED % source.name + body).encode()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--out", type=Path, default=ROOT, help="write under this folder")
    args = parser.parse_args(argv)
    stale = []
    for relative, content in outputs().items():
        path = args.out / relative
        if args.check:
            if not path.exists() or path.read_bytes() != content:
                stale.append(str(relative))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
        else:
            path.touch()  # make's view: up to date with its sources
    if stale:
        print("not up to date (run `make translations`):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
