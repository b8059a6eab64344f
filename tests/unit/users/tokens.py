"""The users tests' view of tests/support/tokens.py: real RS256 Cognito-like tokens signed by a key made
for the test run, and a verifier that fetches its JWKS through a fake fetch (no network)."""
from typing import Any, Iterable, Optional

from tests.support import tokens as jwtkit

ISSUER = jwtkit.ISSUER
CLIENT_ID = jwtkit.CLIENT_ID
KID = jwtkit.KID
ADMIN_GROUP = "apiAdmins"


def jwks() -> bytes:
    return jwtkit.jwks_bytes()


def token(subject: str, groups: Optional[Iterable[str]] = None, *, foreign_key: bool = False,
          **overrides: Any) -> str:
    """An ID token for `subject`; `overrides` replace claims (None removes one); `foreign_key`
    signs with a key the JWKS does not hold, under the real kid."""
    claims = jwtkit.claims(sub=subject, groups=None if groups is None else list(groups),
                           email=f"{subject}@example.com")
    claims.update(overrides)
    return jwtkit.token(payload={k: v for k, v in claims.items() if v is not None},
                        key="attacker" if foreign_key else "main")


def verifier(verifier_cls: Any, cache_cls: Any, fail: bool = False) -> Any:
    """A CognitoVerifier (the app's own class, passed in) whose JWKS comes from `jwks()`."""
    def fetch(url: str, timeout: float) -> bytes:
        if fail:
            raise OSError("JWKS endpoint unreachable")
        return jwks()
    return verifier_cls(ISSUER, CLIENT_ID, keys=cache_cls("http://jwks.invalid/jwks.json", fetch=fetch))
