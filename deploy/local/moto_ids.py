"""Cognito ids of the shapes AWS gives them, for the local stack's moto server (moto cannot make them).

AWS names a user pool `<region>_` plus 9 letters and digits (`us-east-1_aB3dE5fG7`) and an app client
26 lower-case letters and digits. moto's ids are hex: a uuid, or with the HASH id strategies a sha256 of
the create call (`us-east-1_dd6ac6ee...`, 55 characters). Code and docs written against the local stage
should see what they will see in AWS, so `install()` (run by deploy/local/moto_server.py inside the moto
server process we start, before it serves) replaces the id moto gives a new pool or client with one
derived from its name:

    pool    <region>_ + 9 base62 characters of HMAC-SHA256(SECRET, "pool", region, pool name, n)
    client  26 [0-9a-z] characters of HMAC-SHA256(SECRET, "client", pool id, client name, n)

`n` is the number of earlier candidates this server process already issued (0 unless a second pool or
client of the same name is created), so two creates never share an id and a deleted pool's id is not
handed out again. The ids depend only on the names and the order of the creates: moto's recorder
replays the same creates in the same order after a restart (deploy/local/cognito.py), so the pool and
client keep their ids, as they did with the HASH strategies (which stay on, so that moto's own id
generation draws nothing from its seeded random generator). SECRET is fixed and public: these ids
are stable names for one machine's emulator, never credentials.
"""
import hashlib
import hmac
import string
from typing import Any, Callable, Set

SECRET = b"serverless-patterns/local-stack/cognito-ids/v1"
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
LOWER36 = string.digits + string.ascii_lowercase
POOL_SUFFIX_LENGTH = 9
CLIENT_ID_LENGTH = 26

_issued: Set[str] = set()  # every id this process handed out (pools and clients)


def encode(digest: bytes, alphabet: str, length: int) -> str:
    """The first `length` digits of `digest` read as a number in base len(alphabet) (256 bits give
    43 base62 or 49 base36 digits: far more than either id takes)."""
    number, digits = int.from_bytes(digest, "big"), []
    for _ in range(length):
        number, digit = divmod(number, len(alphabet))
        digits.append(alphabet[digit])
    return "".join(digits)


def derive(parts: tuple, make: Callable[[bytes], str], issued: Set[str]) -> str:
    """The first candidate for `parts` not yet in `issued`; records it there."""
    n = 0
    while True:
        message = "\0".join(str(part) for part in (*parts, n)).encode()
        candidate = make(hmac.new(SECRET, message, hashlib.sha256).digest())
        if candidate not in issued:
            issued.add(candidate)
            return candidate
        n += 1


def pool_id(region: str, name: str, issued: Set[str]) -> str:
    return derive(("pool", region, name), lambda d: f"{region}_{encode(d, BASE62, POOL_SUFFIX_LENGTH)}", issued)


def client_id(pool: str, name: str, issued: Set[str]) -> str:
    return derive(("client", pool, name), lambda d: encode(d, LOWER36, CLIENT_ID_LENGTH), issued)


def install() -> None:
    """Give every pool and client moto creates from now on an id of AWS's shape (see the module doc).
    moto stores a pool or client under `.id` only after its constructor returns, so setting the id (and
    the pool's ARN, built from it) at the end of the constructor is enough."""
    from moto.cognitoidp import models

    pool_init, client_init = models.CognitoIdpUserPool.__init__, models.CognitoIdpUserPoolClient.__init__

    def init_pool(self: Any, *args: Any, **kwargs: Any) -> None:
        pool_init(self, *args, **kwargs)
        self.id = pool_id(self.region, self.name, _issued)
        self.arn = f"{self.arn.rsplit('/', 1)[0]}/{self.id}"

    def init_client(self: Any, *args: Any, **kwargs: Any) -> None:
        client_init(self, *args, **kwargs)
        self.id = client_id(self.user_pool_id, self.extended_config.get("ClientName") or "", _issued)

    models.CognitoIdpUserPool.__init__ = init_pool  # type: ignore[method-assign]
    models.CognitoIdpUserPoolClient.__init__ = init_client  # type: ignore[method-assign]
