"""Business rules of the users service: plain functions over a repository and a clock.

Who may do what is decided twice: by the authorizer's policy at the gateway and again here
(`Caller`), so a misconfigured route or a cached policy can never expose another user's record.
"""
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from chalicelib.shared.errors import Conflict, Forbidden, NotFound, Unauthorized
from chalicelib.shared.pagination import decode_token, encode_token

from .models import CreateUser, UpdateUser, is_valid_userid
from .repository import User, UserAlreadyExists, UsersRepository

DEFAULT_LIMIT = 50
MAX_LIMIT = 100

Clock = Callable[[], datetime]
FIELD_ORDER = ("userid", "name", "email", "createdAt", "updatedAt", "timestamp")


def ordered(user: User) -> User:
    """The stored user with its known fields first, in a stable order (DynamoDB returns any order)."""
    out = {key: user[key] for key in FIELD_ORDER if key in user}
    out.update((key, value) for key, value in user.items() if key not in out)
    return out


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """The one timestamp format: ISO-8601 UTC with microseconds, e.g. 2026-11-24T22:56:34.123456+00:00."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the authorizer told the view (requestContext.authorizer)."""

    sub: str
    is_admin: bool

    @classmethod
    def from_context(cls, context: Optional[Mapping[str, Any]]) -> "Caller":
        authorizer = (context or {}).get("authorizer") or {}
        sub = authorizer.get("principalId") or authorizer.get("sub")
        if not isinstance(sub, str) or not sub:
            raise Unauthorized("Unauthorized")
        return cls(sub=sub, is_admin=str(authorizer.get("isAdmin", "false")).lower() == "true")

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("Only administrators may do this.")

    def require_owner_or_admin(self, userid: str) -> None:
        if not (self.is_admin or self.sub == userid):
            raise Forbidden("You may only access your own user record.")


class UsersService:
    def __init__(self, repository: UsersRepository, clock: Clock = utc_now,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self.repository = repository
        self._clock = clock
        self._new_id = new_id

    def list_users(self, caller: Caller, limit: int, next_token: Optional[str]) -> Tuple[List[User], Optional[str]]:
        """One page of users and the token for the next one (None on the last page)."""
        caller.require_admin()
        start = decode_token(next_token, ["userid"], valid={"userid": is_valid_userid}) \
            if next_token is not None else None
        items, last = self.repository.scan(limit, start)
        return [ordered(item) for item in items], (encode_token(last) if last else None)

    def create_user(self, caller: Caller, data: CreateUser) -> User:
        caller.require_admin()
        now = iso(self._clock())
        user: Dict[str, Any] = {"userid": data.userid or self._new_id(), "name": data.name}
        if data.email is not None:
            user["email"] = data.email
        user.update(createdAt=now, updatedAt=now, timestamp=now)
        try:
            return ordered(self.repository.create(user))
        except UserAlreadyExists:
            raise Conflict(f"A user with userid {user['userid']!r} already exists.", code="UserExists") from None

    def get_user(self, caller: Caller, userid: str) -> User:
        caller.require_owner_or_admin(userid)
        user = self.repository.get(userid)
        if user is None:
            raise NotFound("No such user.")
        return ordered(user)

    def put_user(self, caller: Caller, userid: str, data: UpdateUser) -> User:
        caller.require_owner_or_admin(userid)
        return ordered(self.repository.upsert(userid, data.name, data.email, iso(self._clock())))

    def delete_user(self, caller: Caller, userid: str) -> None:
        caller.require_owner_or_admin(userid)
        if not self.repository.delete(userid):
            raise NotFound("No such user.")
