"""Identity verification (A8): tier 1 and tier 2 applications and their documents."""

from __future__ import annotations
