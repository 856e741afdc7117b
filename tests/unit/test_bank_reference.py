"""The bank-transfer reference code (B3): its check character catches every single wrong
character and every swap of two neighbours; a memo is read without guessing."""

from __future__ import annotations

import pytest

from qianbao.wallet.bank_reference import ALPHABET, PREFIX, is_valid, new_code, read_memo

CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def test_a_new_code_is_short_valid_and_unambiguous():
    for _ in range(200):
        code = new_code()
        assert len(code) == 10 and code.startswith(PREFIX) and is_valid(code)
        assert all(c in ALPHABET for c in code[2:-1])  # no I, L, O, U in the random part


def test_every_single_wrong_character_fails_the_check():
    for _ in range(30):
        code = new_code()
        for i in range(2, len(code)):
            for c in CHARS:
                if c != code[i]:
                    assert not is_valid(code[:i] + c + code[i + 1 :]), (code, i, c)


def test_every_swap_of_neighbours_fails_the_check():
    for _ in range(200):
        code = new_code()
        for i in range(2, len(code) - 1):
            if code[i] != code[i + 1]:
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
                assert not is_valid(swapped), (code, i)


@pytest.mark.parametrize(
    "memo_of",
    [
        lambda c: c,
        lambda c: f"钱包充值 {c}",
        lambda c: f"{c.lower()} thanks",
        lambda c: f"{c[:2]} {c[2:6]} {c[6:]}",  # spaces inside
        lambda c: f"{c[:6]}-{c[6:]}",  # a hyphen inside
        lambda c: "".join(chr(ord(x) + 0xFEE0) for x in c),  # full-width
        lambda c: "充值" + "".join(chr(ord(x) + 0xFEE0) for x in c[:2]) + "\u3000" + c[2:],
        lambda c: f"{c} {c}",  # the same code twice is still one code
        lambda c: f"{c} LI MEI",  # the payer's name after it
        lambda c: f"{c[:6]} {c[6:]} 500.00",  # spaces inside, and an amount after it
    ],
)
def test_a_memo_with_the_code_written_any_usual_way_is_read(memo_of):
    code = new_code()
    reading = read_memo(memo_of(code))
    assert reading.outcome == "found" and reading.code == code


def test_a_mistyped_code_is_not_corrected():
    code = new_code()
    wrong = code[:5] + next(c for c in ALPHABET if c != code[5]) + code[6:]
    reading = read_memo(f"充值 {wrong}")
    assert reading.outcome == "invalid" and reading.code is None and reading.seen == wrong
    # One character too many or too few: not a code either.
    assert read_memo(code + "7").outcome == "invalid"
    assert read_memo(code[:-1]).outcome == "invalid"


def test_no_code_or_two_codes_are_not_guessed():
    assert read_memo("").outcome == "missing"
    assert read_memo("wallet top-up for Zhang San").outcome == "missing"
    a, b = new_code(), new_code()
    reading = read_memo(f"{a} {b}")
    assert reading.outcome == "ambiguous" and reading.code is None
    # A code inside a longer word is not read.
    assert read_memo(f"X{a}").outcome == "missing"
