"""The user pool's signing keys: pyjwt's `PyJWKClient`, with the two guarantees it does not give.

`PyJWKClient` already does the fetch (with `timeout`), the key-set cache (`lifespan`) and the refetch
when a token names an unknown `kid` (at most once per `cooldown_duration` after a successful fetch, so
random kids cannot make us hammer the endpoint). Its per-kid LRU (`cache_keys`) stays off: it never
expires, so a key removed from the JWKS would be trusted for the life of the container.

What it does not do, and this subclass adds in `get_jwk_set`:
- Keep keys through a JWKS outage. Once its cache has expired, a failed fetch is an error; here the last
  good key set keeps serving (stale keys beat failing every request while the endpoint is down).
- Not retry a failing endpoint on every token. Its cooldown starts only on a successful fetch, so while
  the endpoint is down every request would wait for the timeout again; here a failed fetch is not retried
  for `refetch_interval` (keys held) or `cold_retry_interval` (nothing held: recover soon after it returns).
And `restored` for SnapStart (snapstart.py).

Importing this module imports pyjwt (~25 ms of cold start): verifier.py imports it on first use only.
"""
import time
from typing import Any, Optional

from jwt import PyJWKClient, PyJWKSet
from jwt.exceptions import PyJWKClientConnectionError


class JwksClient(PyJWKClient):
    def __init__(self, uri: str, ttl: float = 3600.0, timeout: float = 2.0, refetch_interval: float = 30.0,
                 cold_retry_interval: float = 1.0) -> None:
        super().__init__(uri, lifespan=ttl, timeout=timeout, cooldown_duration=refetch_interval)
        self.cold_retry_interval = cold_retry_interval
        self.fetches = 0  # network calls made, for tests and the benchmark
        self._held: Optional[PyJWKSet] = None  # the last good key set, kept past its lifespan
        self._failed_at: Optional[float] = None  # the last failed fetch

    def fetch_data(self) -> Any:
        self.fetches += 1
        return super().fetch_data()

    def get_jwk_set(self, refresh: bool = False) -> PyJWKSet:
        would_fetch = refresh or self.jwk_set_cache is None or self.jwk_set_cache.get() is None
        if would_fetch and self._failed_at is not None:
            interval = self.cooldown_duration if self._held is not None else self.cold_retry_interval
            if time.monotonic() - self._failed_at < interval:
                return self._last_good()
        try:
            self._held = super().get_jwk_set(refresh)
        except Exception:  # noqa: BLE001 - any fetch or parse failure means "no fresh keys"
            self._failed_at = time.monotonic()
            return self._last_good()
        self._failed_at = None
        return self._held

    def _last_good(self) -> PyJWKSet:
        if self._held is None:
            raise PyJWKClientConnectionError("the JWKS could not be fetched and no keys are held")
        return self._held

    def restored(self) -> None:
        """After a restore from a SnapStart snapshot: the fetch times are another machine's clock
        readings, so forget them (the next use refetches; keys held stay as the outage fallback)."""
        with self._client_lock:
            if self.jwk_set_cache is not None:
                self.jwk_set_cache.put(None)
            self._last_successful_fetch = None  # PyJWKClient's cooldown start
            self._failed_at = None
