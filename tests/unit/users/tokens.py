"""Real RS256 Cognito-like tokens signed by a key generated for the test run, and a verifier
that fetches its JWKS through a fake fetch function (no network)."""
import json
import time
from typing import Any, Dict, Iterable, Optional

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_UnitTest"
CLIENT_ID = "unit-test-client"
KID = "unit-test-kid"
ADMIN_GROUP = "apiAdmins"

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks() -> bytes:
    jwk = json.loads(RSAAlgorithm.to_jwk(_KEY.public_key()))
    jwk.update(kid=KID, alg="RS256", use="sig")
    return json.dumps({"keys": [jwk]}).encode()


def token(subject: str, groups: Optional[Iterable[str]] = None, *, foreign_key: bool = False,
          **overrides: Any) -> str:
    now = int(time.time())
    claims: Dict[str, Any] = {"sub": subject, "iss": ISSUER, "aud": CLIENT_ID, "token_use": "id",
                              "iat": now, "exp": now + 3600, "email": f"{subject}@example.com"}
    if groups is not None:
        claims["cognito:groups"] = list(groups)
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    key = _OTHER_KEY if foreign_key else _KEY
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})


def verifier(verifier_cls: Any, cache_cls: Any, fail: bool = False) -> Any:
    """A CognitoVerifier (the app's own class, passed in) whose JWKS comes from `jwks()`."""
    def fetch(url: str, timeout: float) -> bytes:
        if fail:
            raise OSError("JWKS endpoint unreachable")
        return jwks()
    return verifier_cls(ISSUER, CLIENT_ID, keys=cache_cls("http://jwks.invalid/jwks.json", fetch=fetch))
