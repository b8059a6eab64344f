# GENERATED from chalicelib_shared/verifier.py by `make sync`. Do not edit: edit the source and run `make sync`.
"""Verify Cognito JWTs the way API Gateway's Cognito authorizer does.

One verifier serves the users app's TOKEN authorizer and the local gateway (which enforces the
orders app's Cognito authorizer). Every failure is a `TokenError` with a short machine `reason`;
nothing else escapes `verify`.

- RS256 only; signature checked against the pool's JWKS.
- JWKS fetched with a short timeout, cached for `jwks_ttl` seconds, refetched once when a `kid`
  is unknown (at most once per `refetch_interval`, so random kids cannot make us hammer the
  endpoint), and served stale while a refresh fails.
- `exp`, `nbf`, `iat` with a small leeway; `iss` must equal the configured issuer (locally the
  AWS-style issuer while keys come from the emulator, hence two settings).
- `token_use` must be `id` with `aud` = the app client; `access` tokens (checked against
  `client_id`) only when allowed.
"""
import base64
import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

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


def _fetch_url(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - configured URL
        return response.read(1024 * 1024)


class JwksCache:
    """RSA public keys by `kid`, fetched lazily from `url`."""

    def __init__(self, url: str, ttl: float = 3600.0, timeout: float = 2.0,
                 refetch_interval: float = 30.0, cold_retry_interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 fetch: Callable[[str, float], bytes] = _fetch_url) -> None:
        self.url = url
        self.ttl = ttl
        self.timeout = timeout
        self.refetch_interval = refetch_interval
        self.cold_retry_interval = cold_retry_interval  # with nothing cached, retry soon after a failure
        self._clock = clock
        self._fetch = fetch
        self._keys: Dict[str, Any] = {}
        self._fetched_at: Optional[float] = None   # last successful fetch
        self._attempted_at: Optional[float] = None  # last attempt, successful or not
        self._lock = threading.Lock()
        self.fetches = 0  # network calls made, for tests and the benchmark

    def _refresh(self) -> None:
        self._attempted_at = self._clock()
        self.fetches += 1
        try:
            document = json.loads(self._fetch(self.url, self.timeout))
            keys = {}
            for jwk in document.get("keys", []):
                if jwk.get("kty") == "RSA" and jwk.get("alg", "RS256") == "RS256" \
                        and jwk.get("use", "sig") == "sig" and isinstance(jwk.get("kid"), str):
                    keys[jwk["kid"]] = _jwt().algorithms.RSAAlgorithm.from_jwk(jwk)
        except Exception:  # noqa: BLE001 - any fetch/parse failure means "no fresh keys"
            return
        self._keys = keys
        self._fetched_at = self._attempted_at

    def restored(self) -> None:
        """After a restore from a SnapStart snapshot: the fetch times are another machine's clock
        readings, so forget them (the next use refetches; keys held stay as the outage fallback)."""
        with self._lock:
            self._fetched_at = self._attempted_at = None

    def get(self, kid: str) -> Any:
        now = self._clock()
        key = self._keys.get(kid)
        fresh = self._fetched_at is not None and now - self._fetched_at < self.ttl
        if key is not None and fresh:
            return key
        with self._lock:
            key = self._keys.get(kid)
            fresh = self._fetched_at is not None and now - self._fetched_at < self.ttl
            interval = self.refetch_interval if self._fetched_at is not None else self.cold_retry_interval
            recently_tried = self._attempted_at is not None and now - self._attempted_at < interval
            if (key is None or not fresh) and not recently_tried:
                self._refresh()
                key = self._keys.get(kid)
            if key is None and self._fetched_at is None:
                raise KeysUnavailable()
        if key is None:
            raise TokenError("unknown_kid")
        return key  # possibly stale: better than failing while the JWKS endpoint is down


class CognitoVerifier:
    def __init__(self, issuer: str, client_id: str, jwks_url: Optional[str] = None,
                 allow_access_tokens: bool = False, leeway: int = 5,
                 keys: Optional[JwksCache] = None) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.allow_access_tokens = allow_access_tokens
        self.leeway = leeway
        self.keys = keys or JwksCache(jwks_url or f"{self.issuer}/.well-known/jwks.json")

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
        key = self.keys.get(kid)
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
