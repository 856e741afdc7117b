"""Running `qianbao ...` as an operator would: a separate process on a test database, with only
the test's own settings in its environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_cli(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QIANBAO_")}
    env.update(
        QIANBAO_ENVIRONMENT="test",
        QIANBAO_VAR_DIR=str(tmp_path / "var"),
        QIANBAO_DATABASE__URL=url,
        QIANBAO_LOGGING__LEVEL="WARNING",
        QIANBAO_SECURITY__SECRET_KEY="test-secret-key-not-for-production-0123456789",
    )
    return subprocess.run(
        [sys.executable, "-m", "qianbao.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
