"""Copy the icons the pages use from the lucide-static npm package into the repo.

    npm pack lucide-static@1.87.0 && tar xzf lucide-static-1.87.0.tgz
    python tools/vendor_icons.py package/

Only the icons named in ICONS are copied (the package has ~2,500); the pages read them from
``src/qianbao/web/static/vendor/lucide/`` through the ``icon()`` template function. To add an
icon: add its lucide name here, run the command again, commit the new file.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ICONS = [
    "arrow-down-left",
    "arrow-left-right",
    "arrow-up-from-line",
    "arrow-up-right",
    "at-sign",
    "badge-check",
    "ban",
    "banknote",
    "bell",
    "calendar",
    "camera",
    "chart-column",
    "chart-pie",
    "chevron-down",
    "chevron-left",
    "chevron-right",
    "circle-check",
    "circle-help",
    "circle-plus",
    "circle-user-round",
    "circle-x",
    "clock",
    "coins",
    "copy",
    "credit-card",
    "download",
    "eye",
    "eye-off",
    "file-text",
    "fingerprint",
    "flag",
    "gift",
    "hand-coins",
    "headset",
    "history",
    "house",
    "id-card",
    "info",
    "key-round",
    "landmark",
    "languages",
    "list-filter",
    "locate-fixed",
    "lock",
    "log-out",
    "mail",
    "map",
    "map-pin",
    "message-circle",
    "message-circle-warning",
    "navigation",
    "piggy-bank",
    "printer",
    "qr-code",
    "receipt-text",
    "refresh-cw",
    "scan-line",
    "search",
    "send",
    "shield",
    "shield-check",
    "sliders-horizontal",
    "smartphone",
    "snowflake",
    "store",
    "target",
    "triangle-alert",
    "upload",
    "user-check",
    "user-plus",
    "wallet",
    "x",
]

TARGET = Path(__file__).resolve().parents[1] / "src/qianbao/web/static/vendor/lucide"


def main(package: Path) -> None:
    version = json.loads((package / "package.json").read_text())["version"]
    (TARGET / "icons").mkdir(parents=True, exist_ok=True)
    for old in (TARGET / "icons").glob("*.svg"):
        old.unlink()
    for name in ICONS:
        shutil.copyfile(package / "icons" / f"{name}.svg", TARGET / "icons" / f"{name}.svg")
    shutil.copyfile(package / "LICENSE", TARGET / "LICENSE")
    print(f"lucide-static {version}: {len(ICONS)} icons -> {TARGET}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
