"""schemathesis against /openapi.json on a live server (issue 13, "Fuzzing in CI"): every
operation, as a signed-in customer and (the operator paths) with the operator token — no
server error, and every response of the documented kinds matches its schema. A short run here
(a few examples per operation, a fixed seed); ``make fuzz`` runs longer with the stateful phase.

The same command a person would run: ``schemathesis run <url>/openapi.json -H 'Authorization:
Bearer …'`` (the run's report is printed when it fails)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.conftest import DatabaseFactory
from tests.support.identity import STRONG_PASSWORD, e164, new_phone
from tests.support.secrets import remember
from tests.web.conftest import pages_server

OPS_TOKEN = "fuzz-operator-token-0123456789abcdef"
PIN = "583920"
remember(OPS_TOKEN)
# Paths that only an operator (bearer QIANBAO_ADMIN__API_TOKEN) may call.
OPERATOR_PATHS = r"^/api/v1/(ops|ledger|risk)/"
# Operations that would end the fuzzing user's session or lock it out for the rest of the run
# (they are covered by their own tests): signing out, changing the password or number,
# freezing, turning 2FA on or off, revoking sessions.
SESSION_ENDERS = r"^/api/v1/auth/logout$|^/api/v1/me/(password|phone|freeze|2fa|sessions)"
EXAMPLES = int(os.environ.get("QIANBAO_FUZZ_EXAMPLES", "8"))
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))


@pytest.fixture(scope="module")
def live(db_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with pages_server(db_factory, tmp_path_factory.mktemp("fuzz")) as server:
        server.app.state.settings.admin.api_token = SecretStr(OPS_TOKEN)
        yield server


@pytest.fixture(scope="module")
def customer(live: Any) -> str:
    """A signed-up customer with a PIN: the bearer token the fuzzer sends."""
    phone = new_phone()
    with httpx.Client(base_url=live.live.url) as http:
        assert http.post("/api/v1/auth/signup/code", json={"phone": phone}).status_code == 202
        code = live.wait_for_code(e164(phone), 0)
        r = http.post(
            "/api/v1/auth/signup",
            json={"phone": phone, "code": code, "password": STRONG_PASSWORD,
                  "password_confirm": STRONG_PASSWORD, "accept_terms": True},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        token = str(r.json()["token"])
        remember(token)
        r = http.post(
            "/api/v1/me/pin", json={"pin": PIN}, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 204, r.text
    return token


def _schemathesis(
    url: str, token: str, *filters: str, tmp: Path
) -> subprocess.CompletedProcess[str]:
    command = [
        SCHEMATHESIS,
        "run",
        f"{url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error,response_schema_conformance,content_type_conformance",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "13",
        "--phases",
        os.environ.get("QIANBAO_FUZZ_PHASES", "examples,coverage,fuzzing"),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--report-dir",
        str(tmp),
        "--output-truncate",
        "true",
        *filters,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=1200, check=False,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )  # fmt: skip


def test_every_customer_operation_answers_without_a_server_error(
    live: Any, customer: str, tmp_path: Path
) -> None:
    done = _schemathesis(
        live.live.url,
        customer,
        "--exclude-path-regex",
        f"{OPERATOR_PATHS}|{SESSION_ENDERS}",
        tmp=tmp_path,
    )
    print(_summary(done.stdout))  # pytest -rP shows it
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]


def test_every_operator_operation_answers_without_a_server_error(live: Any, tmp_path: Path) -> None:
    done = _schemathesis(
        live.live.url, OPS_TOKEN, "--include-path-regex", OPERATOR_PATHS, tmp=tmp_path
    )
    print(_summary(done.stdout))
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]


def _summary(out: str) -> str:
    keep = ("operations", "test cases", "Test cases", "Seed", "passed", "failed", "errors")
    return "\n".join(line for line in out.splitlines() if any(k in line for k in keep))
