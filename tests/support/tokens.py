"""Real RS256 tokens for tests: a test key pair, its JWKS, Cognito-shaped claims, and a verifier
that fetches that JWKS through a fake fetch (no network; `keys` is the app's key client over one).

`token(...)` signs any claims (`claims(...)` builds Cognito ID-token claims); `id_token(subject, groups)`
is the short form the users tests use (an e-mail per subject; `foreign_key` signs with a key the JWKS
does not hold, under the real kid); `auth_headers(sub)` is what a JSON request from `sub` sends.
"""
import json
import time
import uuid
from functools import lru_cache
from typing import Any, Callable, Dict, Iterable, List, Optional

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

REGION = "us-east-1"
POOL_ID = "us-east-1_TestPool1"
CLIENT_ID = "testclient123"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
KID = "test-kid-1"
ADMIN_GROUP = "apiAdmins"


@lru_cache(maxsize=4)
def private_key(name: str = "main") -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks(*names: str, kid: str = KID) -> Dict[str, Any]:
    keys = []
    for i, name in enumerate(names or ("main",)):
        jwk = json.loads(RSAAlgorithm.to_jwk(private_key(name).public_key()))
        jwk.update({"kid": kid if i == 0 else f"{kid}-{i}", "alg": "RS256", "use": "sig"})
        keys.append(jwk)
    return {"keys": keys}


def jwks_bytes(*names: str, kid: str = KID) -> bytes:
    return json.dumps(jwks(*names, kid=kid)).encode()


def claims(sub: Optional[str] = None, groups: Any = None, token_use: str = "id",
           **overrides: Any) -> Dict[str, Any]:
    now = int(time.time())
    body: Dict[str, Any] = {
        "sub": sub or str(uuid.uuid4()),
        "iss": ISSUER,
        "token_use": token_use,
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "email": "someone@example.com",
        "cognito:username": "someone@example.com",
    }
    if token_use == "id":
        body["aud"] = CLIENT_ID
    else:
        body["client_id"] = CLIENT_ID
    if groups is not None:
        body["cognito:groups"] = groups
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def token(payload: Optional[Dict[str, Any]] = None, key: str = "main", kid: str = KID,
          headers: Optional[Dict[str, Any]] = None, **claim_kwargs: Any) -> str:
    body = payload if payload is not None else claims(**claim_kwargs)
    return jwt.encode(body, private_key(key), algorithm="RS256", headers={"kid": kid, **(headers or {})})


def id_token(subject: str, groups: Optional[Iterable[str]] = None, *, foreign_key: bool = False,
             **overrides: Any) -> str:
    """An ID token for `subject`; `overrides` replace claims (None removes one); `foreign_key`
    signs with a key the JWKS does not hold, under the real kid."""
    body = claims(sub=subject, groups=None if groups is None else list(groups), email=f"{subject}@example.com")
    body.update(overrides)
    return token(payload={k: v for k, v in body.items() if v is not None}, key="attacker" if foreign_key else "main")


def auth_headers(sub: str = "user-a", groups: Any = None) -> Dict[str, str]:
    """The headers of a JSON request from `sub` (a fresh `token`; "user-a" is the orders tests' caller)."""
    return {"Authorization": token(sub=sub, groups=groups), "Content-Type": "application/json"}


class FakeFetch:
    """A JWKS fetch function that serves `document` and records the URLs it was asked for."""

    def __init__(self, document: bytes) -> None:
        self.document = document
        self.calls: List[str] = []

    def __call__(self, url: str, timeout: float) -> bytes:
        self.calls.append(url)
        return self.document


def fake_fetch(document: bytes) -> FakeFetch:
    return FakeFetch(document)


def keys(keys_cls: Any, fetch: Callable[[str, float], bytes], url: str = "http://jwks.invalid/jwks.json",
         **options: Any) -> Any:
    """The app's own signing-key client (`keys_cls`: chalicelib's `jwks.JwksClient`, over pyjwt's
    `PyJWKClient`) with the network replaced by `fetch(url, timeout) -> bytes` (raising as an unreachable
    endpoint does): pyjwt's documented override point, `fetch_data`; caching, cooldowns and fallbacks
    are the real code."""
    class OverFakeFetch(keys_cls):  # type: ignore[misc, valid-type]
        def fetch_data(self) -> Any:
            self.fetches += 1
            return json.loads(fetch(self.uri, self.timeout))
    return OverFakeFetch(url, **options)


def verifier(verifier_cls: Any, keys_cls: Any, fail: bool = False) -> Any:
    """A CognitoVerifier (the app's own class, passed in) whose JWKS is `jwks_bytes()`; with `fail`
    every fetch raises, as an unreachable JWKS endpoint does."""
    def fetch(url: str, timeout: float) -> bytes:
        if fail:
            raise OSError("JWKS endpoint unreachable")
        return jwks_bytes()
    return verifier_cls(ISSUER, CLIENT_ID, keys=keys(keys_cls, fetch))
