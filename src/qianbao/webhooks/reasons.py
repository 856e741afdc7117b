"""Why an endpoint is disabled (``disabled_reason``) and why a delivery was given up
(``last_error``). The reasons are fixed English sentences marked with ``N_``, so a page can show
them in the reader's language; the details stay in their own columns (``failing_since``, the
attempts)."""

from __future__ import annotations

from qianbao.kernel.i18n import N_

DISABLED_BY_OWNER = N_("Disabled by its owner.")
DISABLED_FAILING = N_(
    "Disabled automatically: a delivery failed for good and none has succeeded since the "
    "endpoint started failing."
)
# ``last_error`` of a pending delivery given up because its endpoint is disabled (no attempt).
PENDING_GIVEN_UP = "endpoint disabled"
