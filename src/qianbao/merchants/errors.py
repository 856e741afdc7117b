"""Merchant refusals: each a stable ``code`` (the API's problem ``code``, the page's message)."""

from __future__ import annotations

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_


class MerchantError(DomainError):
    kind = ErrorKind.INVALID


class MerchantNotFound(MerchantError):
    code = "merchants.not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this merchant.")


class MerchantNotActive(MerchantError):
    code = "merchants.not_active"
    kind = ErrorKind.CONFLICT
    message = N_("This merchant cannot take payments now (it is not active).")


class UsccInvalid(MerchantError):
    code = "merchants.uscc_invalid"
    message = N_("This Unified Social Credit Code is not valid: check its 18 characters.")


class UsccTaken(MerchantError):
    code = "merchants.uscc_taken"
    kind = ErrorKind.CONFLICT
    message = N_("A merchant with this Unified Social Credit Code already exists.")


class CategoryInvalid(MerchantError):
    code = "merchants.category_invalid"
    message = N_("Choose the business category from the list.")


class NameInvalid(MerchantError):
    code = "merchants.name_invalid"
    message = N_("Give the business name in Chinese and in English (at most 100 characters each).")


class StatusChangeRefused(MerchantError):
    code = "merchants.status_change_refused"
    kind = ErrorKind.CONFLICT
    message = N_("A merchant cannot go from {old} to {new}.")


class NotMerchantStaff(MerchantError):
    code = "merchants.not_staff"
    kind = ErrorKind.FORBIDDEN
    message = N_("Only the merchant's own staff can do this.")


class ApiKeyInvalid(MerchantError):
    code = "merchants.api_key_invalid"
    kind = ErrorKind.UNAUTHENTICATED
    message = N_("Send a valid, unrevoked API key: Authorization: Bearer qb_sk_…")


class ApiKeyScope(MerchantError):
    code = "merchants.api_key_scope"
    kind = ErrorKind.FORBIDDEN
    message = N_("This API key may not do this: it needs the {scope} scope.")


class ApiKeyNotFound(MerchantError):
    code = "merchants.api_key_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this API key.")


class ScopesInvalid(MerchantError):
    code = "merchants.scopes_invalid"
    message = N_("Choose at least one scope: read, payments, refunds.")


class UrlInvalid(MerchantError):
    code = "merchants.url_invalid"
    message = N_("The {field} must be a full https:// address.")


class OrderReferenceInvalid(MerchantError):
    code = "merchants.order_reference_invalid"
    message = N_("The order reference must be 1 to 64 printable characters.")


class DescriptionTooLong(MerchantError):
    code = "merchants.description_too_long"
    message = N_("The description can be at most 200 characters.")


class ExpiryInvalid(MerchantError):
    code = "merchants.expiry_invalid"
    message = N_("A checkout session must expire between 1 minute and {hours} hours from now.")


class SessionNotFound(MerchantError):
    code = "merchants.session_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this payment request.")


class SessionExpired(MerchantError):
    code = "merchants.session_expired"
    kind = ErrorKind.CONFLICT
    message = N_("This payment request has expired. Go back to the shop and start again.")


class SessionCancelled(MerchantError):
    code = "merchants.session_cancelled"
    kind = ErrorKind.CONFLICT
    message = N_("The shop cancelled this payment request.")


class SessionAlreadyPaid(MerchantError):
    code = "merchants.session_paid"
    kind = ErrorKind.CONFLICT
    message = N_("This payment request has already been paid.")


class SessionNotOpen(MerchantError):
    code = "merchants.session_not_open"
    kind = ErrorKind.CONFLICT
    message = N_("Only an open payment request can be cancelled.")


class OrderAlreadyPaid(MerchantError):
    code = "merchants.order_paid"
    kind = ErrorKind.CONFLICT
    message = N_("This order has already been paid.")


class PaymentNotFound(MerchantError):
    code = "merchants.payment_not_found"
    kind = ErrorKind.NOT_FOUND
    message = N_("We could not find this payment.")


class PaymentNotRefundable(MerchantError):
    code = "merchants.payment_not_refundable"
    kind = ErrorKind.CONFLICT
    message = N_("Only a completed payment can be refunded.")


class RefundTooLarge(MerchantError):
    code = "merchants.refund_too_large"
    kind = ErrorKind.CONFLICT
    message = N_("At most {amount} of this payment can still be refunded.")


class MerchantBalanceTooLow(MerchantError):
    code = "merchants.balance_too_low"
    kind = ErrorKind.CONFLICT
    message = N_("Your merchant balance is not enough for this refund.")


class RefundReasonTooLong(MerchantError):
    code = "merchants.refund_reason_too_long"
    message = N_("The reason can be at most 200 characters.")


class PaymentCodeInvalid(MerchantError):
    code = "merchants.payment_code_invalid"
    kind = ErrorKind.NOT_FOUND
    message = N_("This payment code is not valid or has expired: ask the customer to refresh it.")


class PaymentCodeGuessing(MerchantError):
    code = "merchants.payment_code_rate_limited"
    kind = ErrorKind.RATE_LIMITED
    message = N_("Too many unknown payment codes from this shop: try again in {seconds} seconds.")


class PaymentNotAwaitingPin(MerchantError):
    code = "merchants.payment_not_pending"
    kind = ErrorKind.CONFLICT
    message = N_("This payment is no longer waiting for your confirmation.")


class NoPinLimitInvalid(MerchantError):
    code = "merchants.no_pin_limit_invalid"
    message = N_("The limit without PIN must be between 0 and {maximum}.")


class PromoCodeInvalid(MerchantError):
    code = "merchants.promo_invalid"
    kind = ErrorKind.CONFLICT
    message = N_("This promo code cannot be used: {reason}")


class PromoCodeTaken(MerchantError):
    code = "merchants.promo_code_taken"
    kind = ErrorKind.CONFLICT
    message = N_("A promo code with these letters already exists.")


class PromoDefinitionInvalid(MerchantError):
    code = "merchants.promo_definition_invalid"
    message = N_("This promo code is not valid: {reason}")


class CurrencyNotAccepted(MerchantError):
    code = "merchants.currency_not_accepted"
    message = N_("This merchant takes payments in CNY only.")
