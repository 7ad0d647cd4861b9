import pytest

from integration.link import signatures


def test_sign_then_verify_round_trip():
    body = b'{"a":1}'
    signatures.verify(signatures.sign(body, "s1", 1000), body, ["s1"], now=1000)


def test_several_v1_entries_one_matching_is_enough():
    body = b"{}"
    header = signatures.sign(body, ["old", "new"], 1000)
    assert header.count("v1=") == 2
    signatures.verify(header, body, ["new"], now=1000)


@pytest.mark.parametrize(
    ("header", "now", "code"),
    [
        (None, 1000, "signature_missing"),
        ("t=abc,v1=00", 1000, "signature_malformed"),
        ("t=1000", 1000, "signature_malformed"),
    ],
)
def test_refusals_have_codes(header, now, code):
    with pytest.raises(signatures.SignatureError) as err:
        signatures.verify(header, b"{}", ["s"], now=now)
    assert err.value.code == code


def test_tolerance_edges():
    body = b"{}"
    header = signatures.sign(body, "s", 1000)
    signatures.verify(header, body, ["s"], tolerance=300, now=1300)
    with pytest.raises(signatures.SignatureError, match="more than 300s"):
        signatures.verify(header, body, ["s"], tolerance=300, now=1301)
