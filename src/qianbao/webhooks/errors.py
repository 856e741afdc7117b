"""Webhook refusals: stable codes, English messages marked for translation, no HTTP."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class UrlInvalid(DomainError):
    """The endpoint address is not one we send to; the message says what is wrong with it."""

    code = "webhooks.url_invalid"
    kind = ErrorKind.INVALID
    message = N_("Enter the full https:// address of your webhook endpoint.")


# The precise reasons, each a message of ``UrlInvalid`` (``UrlInvalid(URL_TOO_LONG)``).
URL_NOT_HTTPS = N_("The webhook address must start with https://.")
URL_TOO_LONG = N_("The webhook address may be at most 2000 characters long.")
URL_MALFORMED = N_("This is not a valid web address. Enter it as https://shop.example/webhooks.")
URL_WITH_CREDENTIALS = N_(
    "The webhook address may not contain a user name or password; every delivery is signed."
)
URL_WITH_FRAGMENT = N_("The webhook address may not contain a # fragment.")
URL_UNRESOLVED = N_("We could not find this host name. Check the address and try again.")


class UrlNotPublic(DomainError):
    code = "webhooks.url_not_public"
    kind = ErrorKind.INVALID
    message = N_(
        "This address leads to a private, local or reserved network. Webhooks are only sent to "
        "addresses on the public internet."
    )


class EventTypeUnknown(DomainError):
    code = "webhooks.event_type_unknown"
    kind = ErrorKind.INVALID
    message = N_("Unknown event type: {event_type}.")


NO_EVENT_TYPES = N_("Choose at least one event type to receive.")


class TooManyEndpoints(DomainError):
    code = "webhooks.too_many_endpoints"
    kind = ErrorKind.CONFLICT
    message = N_(
        "You can have at most {limit} enabled webhook endpoints. Disable one you no longer use "
        "first."
    )


class EndpointNotFound(DomainError):
    code = "webhooks.endpoint_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this webhook endpoint.")


class DeliveryNotFound(DomainError):
    code = "webhooks.delivery_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this webhook delivery.")


class EndpointDisabled(DomainError):
    code = "webhooks.endpoint_disabled"
    kind = ErrorKind.CONFLICT
    message = N_("This webhook endpoint is disabled. Enable it first, then send again.")
