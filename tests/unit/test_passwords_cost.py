"""The service hashes passwords with argon2id at OWASP's parameters (m=19 MiB, t=2, p=1). The
test suite swaps in the cheapest argon2id parameters (tests/conftest.py) to save minutes; this
checks what the service itself uses, and that a hash made with other parameters is re-hashed at
the next sign-in."""

from __future__ import annotations

from argon2 import Type, extract_parameters

from tests.conftest import CHEAP_HASHER, OWASP_HASHER


def test_the_service_hashes_with_owasp_argon2id_parameters():
    params = extract_parameters(OWASP_HASHER.hash("correct horse battery staple"))
    assert params.type is Type.ID
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19_456, 2, 1)
    assert (params.hash_len, params.salt_len) == (32, 16)


def test_a_hash_with_other_parameters_is_rehashed_at_the_next_sign_in():
    cheap = CHEAP_HASHER.hash("correct horse battery staple")
    assert OWASP_HASHER.verify(cheap, "correct horse battery staple")
    assert OWASP_HASHER.check_needs_rehash(cheap)
