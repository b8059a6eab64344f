"""The custom TOKEN authorizer's result cache, kept as API Gateway keeps it.

API Gateway caches what a TOKEN authorizer returns (principalId, policy, context) per token for the
authorizer's TTL and judges every later request with that token, to any route, against the cached
policy without invoking the authorizer again (Allow or Deny alike; DESIGN.md §5c). A policy that
lists only the route asked for first therefore passes a gateway that calls the authorizer on every
request and fails in AWS; the strict gateway uses this cache so that it fails locally too.

Two stores, one interface (`get(key)`, `put(key, result, ttl)`):
- `MemoryAuthCache`: one process (the StrictTestClient);
- `SharedAuthCache`: a small SQLite file that the API server's parent creates before it forks, so
  that every worker reads and writes the same entries (a per-process cache would let a request that
  lands on another worker pass by luck). SQLite does the locking between workers.
Both hold at most MAX_ENTRIES results, drop the soonest to expire first, and expire entries by the
injected clock (`time.monotonic` by default: on Linux one clock for every process of the machine).
Keys are hashes (`cache_key`): no token is ever written to a file or a log.
"""
import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Protocol, Tuple, Union

MAX_ENTRIES = 1024
DEFAULT_TTL_SECONDS = 300  # API Gateway's authorizerResultTtlInSeconds when the template omits it
Clock = Callable[[], float]


def cache_key(authorizer_name: str, token: str) -> str:
    """The entry's key: each authorizer has its own cache, keyed by the identity source's value
    (the Authorization header exactly as sent); hashed so that the token is never stored."""
    return hashlib.sha256(f"{authorizer_name}\0{token}".encode("utf-8", "surrogatepass")).hexdigest()


class AuthCache(Protocol):
    def get(self, key: str) -> Optional[Dict[str, Any]]:
        """The cached authorizer result (a fresh copy), or None if there is none or it expired."""

    def put(self, key: str, result: Dict[str, Any], ttl: float) -> None:
        """Keep `result` (the authorizer's returned dict, stored as JSON) for `ttl` seconds."""


class MemoryAuthCache:
    """The cache of one process: for the StrictTestClient, which serves requests in-process."""

    def __init__(self, clock: Clock = time.monotonic, max_entries: int = MAX_ENTRIES) -> None:
        self._clock = clock
        self._max = max_entries
        self._entries: Dict[str, Tuple[float, str]] = {}  # key -> (expires, result as JSON)

    def get(self, key: str) -> Optional[Dict[str, Any]]:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self._clock():
            self._entries.pop(key, None)
            return None
        return json.loads(entry[1])

    def put(self, key: str, result: Dict[str, Any], ttl: float) -> None:
        now = self._clock()
        self._entries[key] = (now + ttl, json.dumps(result))
        if len(self._entries) <= self._max:
            return
        for stale in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[stale]
        while len(self._entries) > self._max:
            del self._entries[min(self._entries, key=lambda k: self._entries[k][0])]


SCHEMA = ("CREATE TABLE results (key TEXT PRIMARY KEY, expires REAL NOT NULL, result TEXT NOT NULL);"
          "CREATE INDEX results_by_expiry ON results (expires);")


class SharedAuthCache:
    """The cache every worker of one API server shares: one SQLite file. `create` (the parent,
    before forking) makes the file; each process opens its own connection on first use (an SQLite
    connection must not cross a fork). WAL lets readers go on while a worker writes; a write waits
    up to 5 s for another's lock. Durability is not wanted (synchronous=OFF): the cache dies with
    the server."""

    def __init__(self, path: Union[str, Path], clock: Clock = time.monotonic,
                 max_entries: int = MAX_ENTRIES) -> None:
        self.path = str(path)
        self._clock = clock
        self._max = max_entries
        self._db: Optional[sqlite3.Connection] = None
        self._pid = 0

    @classmethod
    def create(cls, directory: Union[str, Path], **kwargs: Any) -> "SharedAuthCache":
        """A new, empty cache file in `directory` (which only we can read: mkdtemp's 0700)."""
        cache = cls(Path(directory) / "authorizer-cache.sqlite3", **kwargs)
        with sqlite3.connect(cache.path) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
        db.close()
        return cache

    def _connection(self) -> sqlite3.Connection:
        if self._db is None or self._pid != os.getpid():
            self._db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            self._db.execute("PRAGMA synchronous=OFF")
            self._pid = os.getpid()
        return self._db

    def get(self, key: str) -> Optional[Dict[str, Any]]:
        row = self._connection().execute("SELECT result FROM results WHERE key = ? AND expires > ?",
                                         (key, self._clock())).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, result: Dict[str, Any], ttl: float) -> None:
        """Write the entry, then drop the expired ones and, past MAX_ENTRIES, the soonest to
        expire (both by the expiry index): one transaction, so no worker sees half of it."""
        now, db = self._clock(), self._connection()
        with db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?)", (key, now + ttl, json.dumps(result)))
            db.execute("DELETE FROM results WHERE expires <= ?", (now,))
            db.execute("DELETE FROM results WHERE key IN (SELECT key FROM results ORDER BY expires "
                       "LIMIT max(0, (SELECT count(*) FROM results) - ?))", (self._max,))
