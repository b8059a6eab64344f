# GENERATED from chalicelib_shared/verifier.py by `make sync`. Do not edit: edit the source and run `make sync`.
"""Verify Cognito JWTs the way API Gateway's Cognito authorizer does.

One verifier serves the users app's TOKEN authorizer and the local gateway (which enforces the
orders app's Cognito authorizer). Every failure is a `TokenError` with a short machine `reason`;
nothing else escapes `verify`.

- RS256 only; signature checked against the pool's JWKS.
- Signing keys through pyjwt's `PyJWKClient` (jwks.py): fetched with a short timeout, cached for an
  hour, refetched when a `kid` is unknown (at most once per 30 s, so random kids cannot make us hammer
  the endpoint), and served stale while a refresh fails.
- `exp`, `nbf`, `iat` with a small leeway; `iss` must equal the configured issuer (locally the
  AWS-style issuer while keys come from the emulator, hence two settings).
- `token_use` must be `id` with `aud` = the app client; `access` tokens (checked against
  `client_id`) only when allowed.
"""
import base64
import json
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

from .claims import groups_from_claim

MAX_TOKEN_LENGTH = 8192
_pyjwt: Any = None


def _jwt() -> Any:
    """pyjwt (with cryptography), imported on first use: the users app's API handler ships the same
    code as its authorizer but never verifies a token, and the import costs ~30 ms of cold start."""
    global _pyjwt
    if _pyjwt is None:
        import jwt
        import jwt.algorithms
        _pyjwt = jwt
    return _pyjwt


class TokenError(Exception):
    """The token is not acceptable. `reason` is a short code safe to log (never the token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeysUnavailable(TokenError):
    """The JWKS could not be fetched and nothing is cached: we cannot tell, so we cannot allow."""

    def __init__(self) -> None:
        super().__init__("jwks_unavailable")


@dataclass(frozen=True)
class Identity:
    sub: str
    groups: Tuple[str, ...]
    token_use: str
    claims: Mapping[str, Any] = field(repr=False, compare=False)


def strip_bearer(authorization: Optional[str]) -> str:
    if not authorization:
        raise TokenError("missing_token")
    token = authorization.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    elif token.lower() == "bearer":
        token = ""
    if not token:
        raise TokenError("missing_token")
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenError("token_too_large")
    return token


def _b64json(segment: str) -> Dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError):
        raise TokenError("malformed_token") from None
    if not isinstance(value, dict):
        raise TokenError("malformed_token")
    return value


class CognitoVerifier:
    def __init__(self, issuer: str, client_id: str, jwks_url: Optional[str] = None,
                 allow_access_tokens: bool = False, leeway: int = 5,
                 keys: Any = None) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.allow_access_tokens = allow_access_tokens
        self.leeway = leeway
        self.jwks_url = jwks_url or f"{self.issuer}/.well-known/jwks.json"
        self._keys = keys  # a jwks.JwksClient; built on first use, like pyjwt itself

    @property
    def keys(self) -> Any:
        """The signing-key client (jwks.JwksClient)."""
        if self._keys is None:
            from .jwks import JwksClient
            self._keys = JwksClient(self.jwks_url)
        return self._keys

    def restored(self) -> None:
        """SnapStart: forget the key client's clock readings (jwks.JwksClient.restored), if it was built."""
        if self._keys is not None:
            self._keys.restored()

    def _signing_key(self, kid: str) -> Any:
        jwt = _jwt()
        try:
            key = self.keys.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError:  # nothing held and the JWKS cannot be fetched
            raise KeysUnavailable() from None
        except jwt.PyJWKClientError:
            raise TokenError("unknown_kid") from None
        if key.key_type != "RSA" or key.algorithm_name != "RS256":
            raise TokenError("unknown_kid")  # only RS256 keys are signing keys here
        return key

    def verify(self, authorization: Optional[str]) -> Identity:
        token = strip_bearer(authorization)
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("malformed_token")
        header = _b64json(parts[0])
        if header.get("alg") != "RS256":
            raise TokenError("bad_algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenError("missing_kid")
        key = self._signing_key(kid)
        jwt = _jwt()
        try:
            claims = jwt.decode(
                token, key, algorithms=["RS256"], issuer=self.issuer, leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenError("not_yet_valid") from None
        except jwt.InvalidIssuerError:
            raise TokenError("wrong_issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenError(f"missing_{exc.claim}") from None
        except jwt.InvalidSignatureError:
            raise TokenError("bad_signature") from None
        except (jwt.InvalidTokenError, ValueError, TypeError):
            raise TokenError("invalid_token") from None
        return self._identity(claims)

    def _identity(self, claims: Dict[str, Any]) -> Identity:
        token_use = claims.get("token_use")
        if token_use == "id":  # noqa: S105 - a claim's value, not a secret
            if claims.get("aud") != self.client_id:
                raise TokenError("wrong_audience")
        elif token_use == "access" and self.allow_access_tokens:  # noqa: S105 - likewise
            if claims.get("client_id") != self.client_id:
                raise TokenError("wrong_client")
        else:
            raise TokenError("wrong_token_use")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise TokenError("missing_sub")
        return Identity(sub=sub, groups=groups_from_claim(claims.get("cognito:groups")),
                        token_use=token_use, claims=claims)
