"""WeChat Pay API v3's signature scheme and identifiers, without I/O (see rails/wechatpay.py for
the documents): the messages signed each way, SHA256withRSA signing and checking, the
``Authorization`` header, callback decryption (AEAD_AES_256_GCM), platform keys, and our
reference as ``out_trade_no``."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

AUTH_SCHEME = "WECHATPAY2-SHA256-RSA2048"
SIGNTEST_PREFIX = "WECHATPAY/SIGNTEST/"  # WeChat Pay's probes of whether we verify: never valid


def request_message(method: str, path: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    """What the merchant signs: five lines, each ending in ``\\n`` (body empty for GET)."""
    return f"{method}\n{path}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"


def response_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """What WeChat Pay signs in an answer or a callback: three lines."""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    raw = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode("ascii")


def verify(public_key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    if signature.startswith(SIGNTEST_PREFIX):
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def authorization(
    *,
    mchid: str,
    serial_no: str,
    private_key: rsa.RSAPrivateKey,
    method: str,
    path: str,
    timestamp: int,
    nonce: str,
    body: bytes,
) -> str:
    signature = sign(private_key, request_message(method, path, timestamp, nonce, body))
    return (
        f'{AUTH_SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial_no}"'
    )


def decrypt_resource(api_v3_key: bytes, resource: Mapping[str, Any]) -> bytes:
    """The plaintext of a callback's ``resource`` (AEAD_AES_256_GCM; the tag ends the
    ciphertext). Raises ``InvalidTag`` (wrong key, tampered) or ``KeyError``/``ValueError``."""
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise ValueError("unsupported algorithm")
    return AESGCM(api_v3_key).decrypt(
        str(resource["nonce"]).encode(),
        base64.b64decode(str(resource["ciphertext"]), validate=True),
        str(resource.get("associated_data") or "").encode(),
    )


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """A platform key: a PEM public key (微信支付公钥) or a platform certificate."""
    data = pem.encode() if isinstance(pem, str) else pem
    if b"CERTIFICATE" in data:
        key: Any = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("a WeChat Pay platform key must be RSA")
    return key


def out_trade_no(reference: str) -> str:
    """Our reference as ``out_trade_no``: a UUID as its 32 hex digits (36 would not fit)."""
    try:
        ident = uuid.UUID(reference)
    except ValueError:
        return reference
    return ident.hex if str(ident) == reference else reference


def reference_of(trade_no: str) -> str:
    """The inverse of ``out_trade_no``."""
    if len(trade_no) == 32:
        try:
            return str(uuid.UUID(hex=trade_no))
        except ValueError:
            pass
    return trade_no


def _header(headers: Mapping[str, str], name: str) -> str:
    return headers.get(name) or headers.get(name.lower()) or ""
