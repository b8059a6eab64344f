"""Business rules of the users service, free of HTTP and of AWS specifics (storage is a
`UsersRepository`, time an injectable clock, metrics any `MetricSink`).

Who may do what is decided twice: by the authorizer's policy at the gateway and again here
(`require_admin`, `require_owner_or_admin`), so a misconfigured route or a cached policy can never
expose another user's record. Every operation is one storage call.
"""
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple

from chalicelib.shared.caller import Caller
from chalicelib.shared.errors import Conflict, Forbidden, NotFound
from chalicelib.shared.pagination import decode_token, encode_token
from chalicelib.shared.ports import NO_METRICS, Clock, MetricSink, utc_now

from . import models, render
from .repository import User, UserAlreadyExists, UsersRepository


def new_user_id() -> str:
    return str(uuid.uuid4())


def not_found() -> NotFound:
    return NotFound("No such user.")


class UsersService:
    def __init__(self, repo: UsersRepository, clock: Clock = utc_now, metrics: Optional[MetricSink] = None,
                 new_id: Callable[[], str] = new_user_id) -> None:
        self._repo = repo
        self._clock = clock
        self._metrics: MetricSink = metrics or NO_METRICS
        self._new_id = new_id

    @staticmethod
    def require_admin(caller: Caller) -> None:
        if not caller.is_admin:
            raise Forbidden("Only administrators may do this.")

    @staticmethod
    def require_owner_or_admin(caller: Caller, userid: str) -> None:
        if not (caller.is_admin or caller.sub == userid):
            raise Forbidden("You may only access your own user record.")

    # -- read -----------------------------------------------------------------------------

    def list(self, caller: Caller, limit: int, next_token: Optional[str] = None) -> Tuple[List[User], Optional[str]]:
        """One page of users and the token for the next one (None on the last page)."""
        self.require_admin(caller)
        start = decode_token(next_token, ["userid"], valid={"userid": models.is_valid_userid}) \
            if next_token is not None else None
        page = self._repo.scan(limit, start)
        return [render.user(item) for item in page.items], (encode_token(page.last_key) if page.last_key else None)

    def get(self, caller: Caller, userid: str) -> User:
        self.require_owner_or_admin(caller, userid)
        user = self._repo.get(userid)
        if user is None:
            raise not_found()
        return render.user(user)

    # -- changes --------------------------------------------------------------------------

    def create(self, caller: Caller, data: models.CreateUser) -> User:
        """Store a new user (a UUID4 unless the admin chose the userid); never overwrites one."""
        self.require_admin(caller)
        now = models.format_time(self._clock())
        user: Dict[str, Any] = {"userid": data.userid or self._new_id(), "name": data.name}
        if data.email is not None:
            user["email"] = data.email
        user.update(createdAt=now, updatedAt=now, timestamp=now)
        try:
            stored = self._repo.create(user)
        except UserAlreadyExists:
            raise Conflict(f"A user with userid {user['userid']!r} already exists.", code="UserExists") from None
        self._metrics.add_metric(name="UserCreated", unit="Count", value=1)
        return render.user(stored)

    def put(self, caller: Caller, userid: str, data: models.UpdateUser) -> User:
        """Set name and email (creating the profile if missing); createdAt stays."""
        self.require_owner_or_admin(caller, userid)
        stored = self._repo.upsert(userid, data.name, data.email, models.format_time(self._clock()))
        self._metrics.add_metric(name="UserUpdated", unit="Count", value=1)
        return render.user(stored)

    def delete(self, caller: Caller, userid: str) -> None:
        self.require_owner_or_admin(caller, userid)
        if not self._repo.delete(userid):
            raise not_found()
        self._metrics.add_metric(name="UserDeleted", unit="Count", value=1)
