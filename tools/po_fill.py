"""Fill translations into a catalog from a JSON object {msgid: msgstr}.

    python tools/po_fill.py src/qianbao/locale/zh_CN/LC_MESSAGES/messages.po new.json

Existing translations are replaced only when the JSON names them. Run `make extract-messages`
first so the catalog knows every msgid.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po


def main(po_path: str, json_path: str) -> None:
    with Path(po_path).open("rb") as fh:
        catalog = read_po(fh)
    updates = json.loads(Path(json_path).read_text(encoding="utf-8"))
    # A plural message is named by its singular msgid; Chinese has one plural form.
    plurals = {m.id[0]: m for m in catalog if m.id and isinstance(m.id, tuple)}
    unknown = [k for k in updates if k not in catalog and k not in plurals]
    for msgid, msgstr in updates.items():
        if msgid in plurals:
            plurals[msgid].string = (msgstr,)
            plurals[msgid].flags.discard("fuzzy")
        elif msgid in catalog:
            catalog[msgid].string = msgstr
            catalog[msgid].flags.discard("fuzzy")
    with Path(po_path).open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=True, omit_header=False)
    missing = [m.id for m in catalog if m.id and not m.string]
    print(
        f"filled {len(updates) - len(unknown)}; unknown {len(unknown)}; "
        f"still missing {len(missing)}"
    )
    for m in missing:
        print("  missing:", m)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
