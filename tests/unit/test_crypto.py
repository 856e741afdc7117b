import pytest

from qianbao.kernel.crypto import Sealer, SealError, derive_key


def test_seal_and_open_with_rotation():
    old = Sealer.for_purpose([b"old-master"], "cards")
    token = old.seal(b"6222021234567890123", aad=b"card")
    assert "6222" not in token
    rotated = Sealer.for_purpose([b"new-master", b"old-master"], "cards")
    assert rotated.open(token, aad=b"card") == b"6222021234567890123"
    fresh = rotated.seal(b"x")
    assert fresh.split(".")[1] != token.split(".")[1]  # new data uses the new key
    with pytest.raises(SealError):
        old.open(fresh)  # the old deployment does not know the new key


def test_tampering_wrong_purpose_or_aad_fail():
    sealer = Sealer.for_purpose([b"m"], "cards")
    token = sealer.seal(b"secret", aad=b"a")
    with pytest.raises(SealError):
        sealer.open(token, aad=b"b")
    with pytest.raises(SealError):
        Sealer.for_purpose([b"m"], "outbox").open(token, aad=b"a")
    with pytest.raises(SealError):
        sealer.open(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], aad=b"a")
    with pytest.raises(SealError):
        sealer.open("garbage")
    assert derive_key(b"m", "x") != derive_key(b"m", "y")
