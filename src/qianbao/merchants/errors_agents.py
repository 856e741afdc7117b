"""Cash agents' refusals (B5)."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class AgentError(DomainError):
    kind = ErrorKind.INVALID


class NotAnAgent(AgentError):
    code = "cash.not_an_agent"
    kind = ErrorKind.FORBIDDEN
    message = N_("This merchant is not a cash agent.")


class AgentPaused(AgentError):
    code = "cash.agent_paused"
    kind = ErrorKind.CONFLICT
    message = N_("This cash point is paused and takes no cash now.")


class CustomerNotFound(AgentError):
    code = "cash.customer_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("No Qianbao customer has this number or payment code. Check it and try again.")


class FloatInsufficient(AgentError):
    code = "cash.float_insufficient"
    kind = ErrorKind.CONFLICT
    message = N_(
        "The agent's float is not enough for this cash-in. The agent tops it up by bank transfer."
    )


class Tier2Required(AgentError):
    code = "cash.tier2_required"
    kind = ErrorKind.FORBIDDEN
    message = N_(
        "Cash-outs above {amount} need a customer whose identity is verified with documents "
        "(tier 2)."
    )


class IdCheckRequired(AgentError):
    code = "cash.id_check_required"
    message = N_("Above {amount}, check the customer's ID card and tick the box to say you did.")


class RequestNotFound(AgentError):
    code = "cash.request_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this cash request.")


class RequestExpired(AgentError):
    code = "cash.request_expired"
    kind = ErrorKind.CONFLICT
    message = N_("This cash request has expired. Ask the agent for a new one.")


class RequestClosed(AgentError):
    code = "cash.request_closed"
    kind = ErrorKind.CONFLICT
    message = N_("This cash request is already closed.")


class DistrictUnknown(AgentError):
    code = "cash.district_unknown"
    message = N_("We do not know this district. Type a district such as 徐汇 or Pudong.")


class LocationInvalid(AgentError):
    code = "cash.location_invalid"
    message = N_("The location is not valid.")


class CannotServeYourself(AgentError):
    code = "cash.own_customer"
    message = N_("An agent's staff cannot cash in or out for themselves at their own point.")
