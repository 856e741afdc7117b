"""Addresses and transaction hashes on the chains, one parser per network.

- TRC-20 (TRON): base58check of 21 bytes — the version byte 0x41 and a 20-byte account — which
  is 34 characters starting with ``T``; the last 4 bytes of the decoded value are the first 4 of
  a double SHA-256 of the rest (``base58`` from PyPI checks them).
- ERC-20 (Ethereum): ``0x`` and 40 hex digits. Mixed case carries the EIP-55 checksum: a hex
  letter is upper case when the matching nibble of keccak-256 of the lower-case address is 8 or
  more (keccak-256 as Ethereum uses it, ``pycryptodome``'s ``Crypto.Hash.keccak`` — not NIST's
  SHA3-256). All lower (or all upper) case carries no checksum and is accepted; mixed case with
  a wrong checksum is refused (a typing mistake).

An address of the other network is refused naming it: coins sent on the wrong network are
lost. Only ASCII is accepted (a full-width character is never part of an address)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import base58
from Crypto.Hash import keccak

from qianbao.kernel.errors import DomainError, ErrorKind
from qianbao.kernel.i18n import N_
from qianbao.rails.chain import NETWORKS

TRON_VERSION = 0x41
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_TRON_SHAPE = re.compile(f"T[{_B58}]{{33}}")
_ETH_SHAPE = re.compile(r"0[xX][0-9a-fA-F]{40}")
_TXID = re.compile(r"(?:0[xX])?([0-9a-fA-F]{64})")


class AddressError(DomainError):
    kind = ErrorKind.INVALID


class AddressInvalid(AddressError):
    code = "chain.address_invalid"
    message = N_("This is not a USDT address on {network}. Copy it again and paste it whole.")


class AddressChecksum(AddressError):
    code = "chain.address_checksum"
    message = N_(
        "This address has a typing mistake: its checksum does not match. Copy it again from "
        "where you got it."
    )


class AddressWrongNetwork(AddressError):
    code = "chain.address_wrong_network"
    message = N_(
        "This is an address on {other}, not on {network}. Coins sent on the wrong network are "
        "lost: choose {other}, or use an address on {network}."
    )


class TxidInvalid(AddressError):
    code = "chain.txid_invalid"
    message = N_("A transaction hash is 64 characters 0-9 and a-f (ERC-20 ones may start with 0x).")


class NetworkUnknown(AddressError):
    code = "chain.network_unknown"
    message = N_("Choose a network: {networks}.")


def network_of(code: str, allowed: Sequence[str] | None = None) -> str:
    """The network code (``TRC20``, ``ERC20``) from what a client sent (``trc-20`` too)."""
    found = (code or "").strip().upper().replace("-", "").replace("_", "")
    offered = list(allowed) if allowed is not None else list(NETWORKS)
    if found not in offered:
        raise NetworkUnknown(networks=", ".join(NETWORKS[n].label for n in offered))
    return found


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def eip55(hex40: str) -> str:
    """The EIP-55 form of 40 hex digits: ``0x`` and the checksum's upper and lower case."""
    lower = hex40.lower()
    digest = keccak256(lower.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if c in "abcdef" and int(digest[i], 16) >= 8 else c for i, c in enumerate(lower)
    )


def tron_address(account: bytes) -> str:
    """The base58check address of a 20-byte account."""
    assert len(account) == 20
    return str(base58.b58encode_check(bytes([TRON_VERSION]) + account).decode("ascii"))


def eth_address(account: bytes) -> str:
    assert len(account) == 20
    return eip55(account.hex())


def _tron(text: str, label: str) -> str:
    if not _TRON_SHAPE.fullmatch(text):
        raise AddressInvalid(network=label)
    try:
        raw = base58.b58decode_check(text)
    except ValueError:
        raise AddressChecksum() from None
    if len(raw) != 21 or raw[0] != TRON_VERSION:
        raise AddressInvalid(network=label)
    return text


def _eth(text: str, label: str) -> str:
    if not _ETH_SHAPE.fullmatch(text):
        raise AddressInvalid(network=label)
    digits = text[2:]
    canonical = eip55(digits)
    if digits not in (digits.lower(), digits.upper()) and canonical[2:] != digits:
        raise AddressChecksum()
    return canonical


def looks_like(text: str) -> str | None:
    """The network an address is shaped for, whatever its checksum (None: neither)."""
    if _TRON_SHAPE.fullmatch(text):
        return "TRC20"
    if _ETH_SHAPE.fullmatch(text):
        return "ERC20"
    return None


def parse_address(network: str, text: str) -> str:
    """The address in its canonical form (EIP-55 for ERC-20), or a refusal saying why."""
    label = NETWORKS[network].label
    text = (text or "").strip()
    if not text.isascii() or not text:
        raise AddressInvalid(network=label)
    shaped = looks_like(text)
    if shaped is not None and shaped != network:
        raise AddressWrongNetwork(network=label, other=NETWORKS[shaped].label)
    return _tron(text, label) if network == "TRC20" else _eth(text, label)


def parse_txid(text: str) -> str:
    """A transaction hash as 64 lowercase hex digits (``0x`` dropped)."""
    found = _TXID.fullmatch((text or "").strip())
    if found is None:
        raise TxidInvalid()
    return found.group(1).lower()


def shown_txid(network: str, txid: str) -> str:
    """A hash as the network's explorers show it (``0x`` before Ethereum's)."""
    return f"0x{txid}" if network == "ERC20" else txid
