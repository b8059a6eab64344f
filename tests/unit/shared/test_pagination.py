import pytest

from chalicelib_shared.pagination import InvalidToken, decode_token, encode_token

KEY = {"userId": "u1", "orderId": "o-42"}


def test_round_trip() -> None:
    token = encode_token(KEY)
    assert "=" not in token
    assert decode_token(token, ("userId", "orderId"), fixed={"userId": "u1"}) == KEY


@pytest.mark.parametrize("token", [
    "", "!!!", "a" * 3000, encode_token({"userId": "u1"}), encode_token({**KEY, "extra": "x"}),
    encode_token({"userId": "u1", "orderId": 5}), encode_token({"userId": "u1", "orderId": ""}),
    "bm90IGpzb24",  # "not json"
    encode_token(KEY)[:-3] + "xyz",
])
def test_malformed_or_tampered_tokens_are_400(token: str) -> None:
    with pytest.raises(InvalidToken) as info:
        decode_token(token, ("userId", "orderId"), fixed={"userId": "u1"})
    assert info.value.status == 400 and info.value.code == "InvalidNextToken"


def test_another_users_token_is_rejected() -> None:
    with pytest.raises(InvalidToken):
        decode_token(encode_token({"userId": "u2", "orderId": "o"}), ("userId", "orderId"), fixed={"userId": "u1"})
