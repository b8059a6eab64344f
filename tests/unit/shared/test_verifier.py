import base64
import hmac
import json
import time
from typing import Any, Callable, Dict, Optional, Tuple

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from chalicelib_shared.claims import groups_from_claim
from chalicelib_shared.jwks import JwksClient
from chalicelib_shared.verifier import CognitoVerifier, Identity, KeysUnavailable, TokenError
from tests.support import tokens
from tests.support.clock import FakeMonotonic


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeMonotonic:
    """The process's monotonic clock, which pyjwt's key client reads, frozen until a test moves it."""
    return FakeMonotonic().as_process_clock(monkeypatch)


def make_verifier(document: Optional[bytes] = None, allow_access_tokens: bool = False,
                  fetch: Optional[Callable[[str, float], bytes]] = None) -> Tuple[CognitoVerifier, Any]:
    fetch = fetch or tokens.fake_fetch(document or tokens.jwks_bytes())
    keys = tokens.keys(JwksClient, fetch, url="http://keys.invalid/jwks.json")
    return CognitoVerifier(tokens.ISSUER, tokens.CLIENT_ID, keys=keys, allow_access_tokens=allow_access_tokens), fetch


def b64(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def test_valid_id_token_gives_identity_with_groups() -> None:
    verifier, _ = make_verifier()
    identity = verifier.verify(tokens.token(sub="abc", groups=["apiAdmins", "x"]))
    assert identity == Identity(sub="abc", groups=("apiAdmins", "x"), token_use="id", claims={})
    assert "apiAdmins" in identity.groups and "apiadmins" not in identity.groups  # exact names


@pytest.mark.parametrize("prefix", ["Bearer ", "bearer ", "BEARER  ", ""])
def test_bearer_prefix_is_optional(prefix: str) -> None:
    verifier, _ = make_verifier()
    assert verifier.verify(prefix + tokens.token(sub="abc")).sub == "abc"


def _bad_tokens() -> Dict[str, Tuple[Optional[str], str]]:
    good = tokens.token(sub="abc")
    header, payload, signature = good.split(".")
    tampered_payload = b64({**tokens.claims(sub="admin", groups=["apiAdmins"])})
    public_pem = tokens.private_key().public_key().public_bytes(
        encoding=serialization.Encoding.PEM, format=serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    return {
        "missing": (None, "missing_token"),
        "empty": ("", "missing_token"),
        "bearer only": ("Bearer ", "missing_token"),
        "garbage": ("not-a-jwt", "malformed_token"),
        "non-ascii garbage": ("\u00e9\u00e8.\u00ff.\u2603", "malformed_token"),
        "two segments": ("a.b", "malformed_token"),
        "alg none": (b64({"alg": "none", "kid": tokens.KID}) + "." + payload + ".", "bad_algorithm"),
        "hs256 with public key": (
            b64({"alg": "HS256", "kid": tokens.KID, "typ": "JWT"}) + "." + payload + "."
            + base64.urlsafe_b64encode(hmac.new(public_pem, f"x.{payload}".encode(), "sha256").digest())
            .decode().rstrip("="),
            "bad_algorithm"),
        "other key, same kid": (tokens.token(key="attacker", sub="abc"), "bad_signature"),
        "tampered payload": (f"{header}.{tampered_payload}.{signature}", "bad_signature"),
        "expired": (tokens.token(exp=now - 60, iat=now - 3660), "expired"),
        "not yet valid (nbf)": (tokens.token(nbf=now + 600), "not_yet_valid"),
        "issued in the future": (tokens.token(iat=now + 600), "not_yet_valid"),
        "wrong issuer": (tokens.token(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"),
                         "wrong_issuer"),
        "wrong audience": (tokens.token(aud="someone-else"), "wrong_audience"),
        "access token": (tokens.token(token_use="access"), "wrong_token_use"),
        "no token_use": (tokens.token(payload={k: v for k, v in tokens.claims().items() if k != "token_use"}),
                         "missing_token_use"),
        "missing sub": (tokens.token(payload={k: v for k, v in tokens.claims().items() if k != "sub"}),
                        "missing_sub"),
        "unknown kid": (tokens.token(kid="rotated-away"), "unknown_kid"),
        "no kid": (jwt.encode(tokens.claims(), tokens.private_key(), algorithm="RS256"), "missing_kid"),
        "oversized": ("x" * 9000, "token_too_large"),
    }


@pytest.mark.parametrize("name", sorted(_bad_tokens()))
def test_bad_tokens_are_typed_errors(name: str) -> None:
    value, reason = _bad_tokens()[name]
    verifier, _ = make_verifier()
    with pytest.raises(TokenError) as info:
        verifier.verify(value)
    assert info.value.reason == reason


def test_access_tokens_accepted_only_when_allowed_and_for_our_client() -> None:
    verifier, _ = make_verifier(allow_access_tokens=True)
    assert verifier.verify(tokens.token(sub="abc", token_use="access")).token_use == "access"
    with pytest.raises(TokenError) as info:
        verifier.verify(tokens.token(token_use="access", client_id="other"))
    assert info.value.reason == "wrong_client"


def test_small_leeway_on_expiry() -> None:
    verifier, _ = make_verifier()
    now = int(time.time())
    assert verifier.verify(tokens.token(sub="abc", exp=now - 2, iat=now - 3600)).sub == "abc"


def test_jwks_is_cached_and_not_refetched_while_fresh(clock: FakeMonotonic) -> None:
    verifier, fetch = make_verifier()
    for _ in range(5):
        verifier.verify(tokens.token())
    assert len(fetch.calls) == 1
    clock.now += 3601  # past the TTL: one refresh
    verifier.verify(tokens.token())
    assert len(fetch.calls) == 2


def test_unknown_kid_refetches_once_then_rate_limits(clock: FakeMonotonic) -> None:
    documents = [tokens.jwks_bytes(), tokens.jwks_bytes("main", "rotated")]

    def fetch(url: str, timeout: float) -> bytes:
        fetch.calls.append(url)
        return documents[min(len(fetch.calls) - 1, 1)]
    fetch.calls = []
    verifier, _ = make_verifier(fetch=fetch)
    verifier.verify(tokens.token())
    clock.now += 60
    # a key published after our first fetch (kid "test-kid-1-1") is found by one refetch
    assert verifier.verify(tokens.token(key="rotated", kid=tokens.KID + "-1", sub="r")).sub == "r"
    assert len(fetch.calls) == 2
    for _ in range(5):  # random kids do not make us hammer the endpoint
        with pytest.raises(TokenError):
            verifier.verify(tokens.token(kid="random"))
    assert len(fetch.calls) == 2


def test_cold_cache_with_unreachable_jwks_is_keys_unavailable() -> None:
    def fetch(url: str, timeout: float) -> bytes:
        raise OSError("connection refused")
    verifier, _ = make_verifier(fetch=fetch)
    with pytest.raises(KeysUnavailable) as info:
        verifier.verify(tokens.token())
    assert info.value.reason == "jwks_unavailable"


def test_warm_cache_survives_jwks_outage(clock: FakeMonotonic) -> None:
    state = {"down": False}

    def fetch(url: str, timeout: float) -> bytes:
        if state["down"]:
            raise OSError("down")
        return tokens.jwks_bytes()
    verifier, _ = make_verifier(fetch=fetch)
    verifier.verify(tokens.token())
    state["down"] = True
    clock.now += 7200  # cache expired and the refresh fails: stale keys keep working
    assert verifier.verify(tokens.token(sub="still")).sub == "still"


def test_real_http_fetch_times_out_quickly() -> None:
    import socket
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts the connection, never answers
    try:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/jwks.json"
        verifier = CognitoVerifier(tokens.ISSUER, tokens.CLIENT_ID,
                                   keys=JwksClient(url, timeout=0.3))
        started = time.monotonic()
        with pytest.raises(KeysUnavailable):
            verifier.verify(tokens.token())
        assert time.monotonic() - started < 2
    finally:
        server.close()


@pytest.mark.parametrize("value, expected", [
    (["apiAdmins", "b"], ("apiAdmins", "b")),
    ("apiAdmins,b", ("apiAdmins", "b")),
    ("[apiAdmins, b]", ("apiAdmins", "b")),
    ("apiAdmins ", ("apiAdmins ",)),
    (["apiAdmins "], ("apiAdmins ",)),
    ("notapiAdmins", ("notapiAdmins",)),
    (None, ()),
    (42, ()),
    ([1, "a", None], ("a",)),
])
def test_groups_claim_in_every_shape(value: Any, expected: Tuple[str, ...]) -> None:
    assert groups_from_claim(value) == expected


def test_a_failing_endpoint_is_not_retried_on_every_token(clock: FakeMonotonic) -> None:
    """While the JWKS endpoint is down, requests do not each wait for a fetch: with keys held, one
    attempt per refetch interval (30 s); with nothing held, one per second, so a cold container
    recovers soon after the endpoint returns."""
    state = {"down": False}

    def fetch(url: str, timeout: float) -> bytes:
        fetch.calls.append(url)
        if state["down"]:
            raise OSError("down")
        return tokens.jwks_bytes()
    fetch.calls = []
    verifier, _ = make_verifier(fetch=fetch)
    verifier.verify(tokens.token())
    state["down"] = True
    clock.now += 3601  # the key set expired: one refresh attempt, which fails
    for _ in range(5):
        assert verifier.verify(tokens.token(sub="held")).sub == "held"
        with pytest.raises(TokenError):
            verifier.verify(tokens.token(kid="random"))
    assert len(fetch.calls) == 2
    clock.now += 31
    verifier.verify(tokens.token())
    assert len(fetch.calls) == 3

    cold, _ = make_verifier(fetch=fetch)
    for _ in range(3):
        with pytest.raises(KeysUnavailable):
            cold.verify(tokens.token())
    assert len(fetch.calls) == 4
    state["down"] = False
    clock.now += 1.5
    assert cold.verify(tokens.token(sub="back")).sub == "back"
    assert len(fetch.calls) == 5


def test_after_a_snapstart_restore_keys_are_refetched_and_held_ones_stay_the_fallback(clock: FakeMonotonic) -> None:
    state = {"down": False}

    def fetch(url: str, timeout: float) -> bytes:
        fetch.calls.append(url)
        if state["down"]:
            raise OSError("down")
        return tokens.jwks_bytes()
    fetch.calls = []
    verifier, _ = make_verifier(fetch=fetch)
    verifier.verify(tokens.token())
    verifier.restored()
    verifier.verify(tokens.token())  # the cached set's clock reading is forgotten: refetched
    assert len(fetch.calls) == 2
    verifier.restored()
    state["down"] = True
    assert verifier.verify(tokens.token(sub="kept")).sub == "kept"
    assert len(fetch.calls) == 3


def test_a_verifier_costs_no_pyjwt_or_urllib_import_until_it_verifies() -> None:
    """The users API function ships the verifier but never verifies: building one (and the SnapStart
    reset) must not import pyjwt or urllib.request (cold start)."""
    import subprocess
    import sys
    code = ("import sys\nfrom chalicelib_shared.verifier import CognitoVerifier\n"
            "v = CognitoVerifier('https://issuer.invalid/pool', 'client')\nv.restored()\n"
            "print(sorted(m for m in ('jwt', 'urllib.request', 'cryptography') if m in sys.modules))")
    from deploy.project import ROOT
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
