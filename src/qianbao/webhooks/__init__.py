"""Outbound webhooks (Standard Webhooks, https://www.standardwebhooks.com): an owner's endpoints,
the events published to them in the owner's own transaction, their signed delivery with retries,
and the delivery log. A low layer: it knows nothing of merchants (an owner is a UUID); it
imports only the kernel and the worker's registration types.

    endpoint, secret = await create_endpoint(session, settings, owner_id=..., url=...,
                                             event_types=["payment.succeeded"])
    await publish(session, owner_id=..., event_type="payment.succeeded", data={...},
                  occurred_at=now)          # in the transaction of the payment itself
    register(registry, settings)            # the dispatcher, in every worker

After an endpoint is disabled for failing, ``webhooks.endpoint_disabled`` goes to the outbox
(``{"owner_id", "endpoint_id", "url"}``) for the owner's domain to tell its owner.
"""

from qianbao.webhooks.deliveries import (
    DeliveryDetail,
    DeliveryRow,
    delivery_detail,
    list_deliveries,
    resend,
)
from qianbao.webhooks.dispatch import ENDPOINT_DISABLED_TOPIC, dispatch_due
from qianbao.webhooks.endpoints import (
    create_endpoint,
    get_endpoint,
    list_endpoints,
    reveal_secret,
    rotate_secret,
    update_endpoint,
)
from qianbao.webhooks.events import EVENT_TYPES
from qianbao.webhooks.publish import publish, publish_many
from qianbao.webhooks.tasks import DISPATCH_TASK, register

__all__ = [
    "DISPATCH_TASK",
    "ENDPOINT_DISABLED_TOPIC",
    "EVENT_TYPES",
    "DeliveryDetail",
    "DeliveryRow",
    "create_endpoint",
    "delivery_detail",
    "dispatch_due",
    "get_endpoint",
    "list_deliveries",
    "list_endpoints",
    "publish",
    "publish_many",
    "register",
    "resend",
    "reveal_secret",
    "rotate_secret",
    "update_endpoint",
]
