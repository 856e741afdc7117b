"""The django-hordak baseline for W1, run in its own process (Django is synchronous).

Uniform transfers among 10,000 accounts with 64 concurrent callers (threads, one connection
each), every transfer in its own database transaction as hordak documents. Prints
``HORDAK_TPS <value>``.

    python -m bench.hordak_worker --dsn postgresql://... --seconds 15
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from decimal import Decimal
from urllib.parse import parse_qs, urlparse


def configure(dsn: str) -> None:
    import django
    from django.conf import settings

    url = urlparse(dsn)
    host = parse_qs(url.query).get("host", [url.hostname or ""])[0]
    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        SECRET_KEY="bench-only",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "mptt",
            "djmoney",
            "hordak",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": url.path.lstrip("/"),
                "USER": url.username or "postgres",
                "HOST": host,
                "PORT": url.port or "",
                "CONN_MAX_AGE": None,
            }
        },
        CURRENCIES=["CNY"],
        DEFAULT_CURRENCY="CNY",
        HORDAK_DECIMAL_PLACES=2,
    )
    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=64)
    args = parser.parse_args()
    configure(args.dsn)

    from django.core.management import call_command
    from django.db import connection
    from django.db import transaction as db_transaction
    from hordak.models import Account
    from moneyed import Money

    call_command("migrate", verbosity=0)
    Account.objects.bulk_create(
        [
            Account(
                name=f"wallet {i}",
                code=f"{i}",
                type=Account.TYPES.liability,
                currencies=["CNY"],
                tree_id=i + 1,
                lft=1,
                rght=2,
                level=0,
            )
            for i in range(args.accounts)
        ],
        batch_size=2_000,
    )
    ids = list(Account.objects.values_list("id", flat=True))
    connection.close()
    deadline = time.perf_counter() + args.seconds
    counts = [0] * args.threads
    start = threading.Barrier(args.threads + 1)

    def caller(n: int) -> None:
        from django.db import connection as conn

        rng = random.Random(n)
        accounts = {}
        start.wait()
        try:
            while time.perf_counter() < deadline:
                a, b = rng.sample(ids, 2)
                src = accounts.get(a) or accounts.setdefault(a, Account.objects.get(pk=a))
                dst = accounts.get(b) or accounts.setdefault(b, Account.objects.get(pk=b))
                with db_transaction.atomic():
                    src.transfer_to(dst, Money(Decimal(rng.randint(1, 500)) / 100, "CNY"))
                counts[n] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(args.threads)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    print(f"HORDAK_TPS {sum(counts) / elapsed:.2f}", flush=True)


if __name__ == "__main__":
    main()
