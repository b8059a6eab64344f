"""Real RS256 tokens for tests: a test key pair, its JWKS, and Cognito-shaped claims."""
import json
import time
import uuid
from functools import lru_cache
from typing import Any, Dict, Optional

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

REGION = "us-east-1"
POOL_ID = "us-east-1_TestPool1"
CLIENT_ID = "testclient123"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
KID = "test-kid-1"


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


def fake_fetch(document: bytes):
    """A JwksCache fetch function that serves `document` and counts calls."""
    calls = []

    def fetch(url: str, timeout: float) -> bytes:
        calls.append(url)
        return document
    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch
