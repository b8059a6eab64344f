"""Where users are stored: a small interface, its DynamoDB implementation and an in-memory fake.

Both implementations pass the same contract tests (tests/contract/test_users_repository.py):
every method is one DynamoDB call, conditional writes fail with `UserAlreadyExists` carrying the
old item, and botocore errors other than a failed condition propagate untouched (the shared
`api_view` maps throttling and unreachable endpoints to 503).
"""
import copy
import threading
from typing import Any, Dict, Optional, Protocol

from chalicelib.shared.aws import from_item, to_item, to_value
from chalicelib.shared.pagination import Page

User = Dict[str, Any]


class UserAlreadyExists(Exception):
    """A create hit an existing `userid`; `existing` is the stored item (never overwritten)."""

    def __init__(self, existing: Optional[User]) -> None:
        super().__init__("user exists")
        self.existing = existing


class UsersRepository(Protocol):
    def get(self, userid: str) -> Optional[User]:
        """The stored item, or None."""

    def create(self, user: User) -> User:
        """Store `user` unless its `userid` exists (then raise UserAlreadyExists)."""

    def upsert(self, userid: str, name: str, email: Optional[str], now: str) -> User:
        """Set name/email (email None removes it) and updatedAt/timestamp = now; createdAt = now
        only when the item is new. Returns the stored item."""

    def delete(self, userid: str) -> bool:
        """Delete the item; False when there was none."""

    def scan(self, limit: int, start_key: Optional[Dict[str, str]]) -> Page:
        """Up to `limit` items after `start_key`, and the key to continue from (None at the end)."""


class DynamoUsersRepository:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table
        self._errors = client.exceptions

    def get(self, userid: str) -> Optional[User]:
        response = self._client.get_item(TableName=self._table, Key={"userid": to_value(userid)})
        item = response.get("Item")
        return from_item(item) if item else None

    def create(self, user: User) -> User:
        try:
            self._client.put_item(TableName=self._table, Item=to_item(user),
                                  ConditionExpression="attribute_not_exists(userid)",
                                  ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except self._errors.ConditionalCheckFailedException as exc:
            old = from_item(exc.response["Item"]) if exc.response.get("Item") else None
            if old == from_item(to_item(user)):
                # The SDK retried a put whose first attempt was applied (then timed out): the item is
                # ours, to the microsecond of its createdAt, so this create succeeded.
                return old
            raise UserAlreadyExists(old) from None
        return dict(user)

    def upsert(self, userid: str, name: str, email: Optional[str], now: str) -> User:
        names = {"#name": "name", "#ts": "timestamp"}
        values = {":name": to_value(name), ":now": to_value(now)}
        expression = "SET #name = :name, updatedAt = :now, #ts = :now, createdAt = if_not_exists(createdAt, :now)"
        if email is None:
            expression += " REMOVE email"
        else:
            expression += ", email = :email"
            values[":email"] = to_value(email)
        response = self._client.update_item(
            TableName=self._table, Key={"userid": to_value(userid)}, UpdateExpression=expression,
            ExpressionAttributeNames=names, ExpressionAttributeValues=values, ReturnValues="ALL_NEW")
        return from_item(response["Attributes"])

    def delete(self, userid: str) -> bool:
        try:
            self._client.delete_item(TableName=self._table, Key={"userid": to_value(userid)},
                                     ConditionExpression="attribute_exists(userid)")
        except self._errors.ConditionalCheckFailedException:
            return False
        return True

    def scan(self, limit: int, start_key: Optional[Dict[str, str]]) -> Page:
        kwargs: Dict[str, Any] = {"TableName": self._table, "Limit": limit}
        if start_key:
            kwargs["ExclusiveStartKey"] = {"userid": to_value(start_key["userid"])}
        response = self._client.scan(**kwargs)
        items = [from_item(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return Page(items, {"userid": from_item(last)["userid"]} if last else None)


class InMemoryUsersRepository:
    """The fake: same semantics as DynamoDB for what this service uses (scan order = key order)."""

    def __init__(self) -> None:
        self.items: Dict[str, User] = {}  # userid -> the stored item
        self.calls = 0  # storage round trips, so tests can check "one call per request"
        self._lock = threading.Lock()

    def get(self, userid: str) -> Optional[User]:
        self.calls += 1
        item = self.items.get(userid)
        return copy.deepcopy(item) if item is not None else None

    def create(self, user: User) -> User:
        self.calls += 1
        with self._lock:
            if user["userid"] in self.items:
                raise UserAlreadyExists(copy.deepcopy(self.items[user["userid"]]))
            self.items[user["userid"]] = copy.deepcopy(user)
        return dict(user)

    def upsert(self, userid: str, name: str, email: Optional[str], now: str) -> User:
        self.calls += 1
        with self._lock:
            item = self.items.setdefault(userid, {"userid": userid})
            item["name"] = name
            item["updatedAt"] = now
            item["timestamp"] = now
            item.setdefault("createdAt", now)
            if email is None:
                item.pop("email", None)
            else:
                item["email"] = email
            return copy.deepcopy(item)

    def delete(self, userid: str) -> bool:
        self.calls += 1
        with self._lock:
            return self.items.pop(userid, None) is not None

    def scan(self, limit: int, start_key: Optional[Dict[str, str]]) -> Page:
        self.calls += 1
        keys = sorted(self.items)
        if start_key:
            keys = [k for k in keys if k > start_key["userid"]]
        page = keys[:limit]
        last = {"userid": page[-1]} if len(page) == limit and page else None
        return Page([copy.deepcopy(self.items[k]) for k in page], last)
