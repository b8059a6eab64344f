"""Where orders are stored: a small interface, its DynamoDB implementation and an in-memory fake.

Items are stored as the workshop stores them: `{userId, orderId, data: {order document}}`, plus
beside `data`: `requestHash` (the fingerprint of the create request) and `lastWrite` (a fresh id per
update, so that when the SDK retries an update whose first attempt was applied but timed out, the
failed condition of the retry is recognised as our own write, not a conflict). Every write is a single
conditional request; when its condition fails, the current item comes back with the failure
(`ReturnValuesOnConditionCheckFailure=ALL_OLD`), so callers never read before they write.
The fake implements exactly the same semantics (and the same number types: ints come back as
Decimal, as from DynamoDB), so the service's rules can be tested against either; both pass the same
contract tests (tests/contract/test_orders_repository.py, the DynamoDB one against DynamoDB Local).
"""
import copy
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Protocol, Tuple

from botocore.exceptions import ClientError

from chalicelib.shared.aws import from_item, to_item, to_value
from chalicelib.shared.pagination import Page


@dataclass(frozen=True)
class StoredOrder:
    document: Dict[str, Any]
    request_hash: Optional[str]


@dataclass(frozen=True)
class UpdateOutcome:
    """`document` is the new document when the condition held; otherwise `current` is the
    stored document that failed it (None: there is no such order)."""

    document: Optional[Dict[str, Any]] = None
    current: Optional[Dict[str, Any]] = None


class OrdersRepository(Protocol):
    def put_new(self, document: Mapping[str, Any], request_hash: str) -> Optional[StoredOrder]:
        """Store a new order unless (userId, orderId) exists. None on success, else the existing order."""

    def get(self, user_id: str, order_id: str) -> Optional[Dict[str, Any]]:
        """The order document, or None."""

    def query(self, user_id: str, limit: int, start_key: Optional[Dict[str, str]] = None) -> Page:
        """Up to `limit` of the user's order documents in orderId order, after `start_key`
        ({"userId", "orderId"}), and the key to continue from (None when no more follow)."""

    def update(self, user_id: str, order_id: str, changes: Mapping[str, Any],
               expected: Mapping[str, Any], order_time_from: Optional[str] = None) -> UpdateOutcome:
        """Set `changes` in the document iff the order exists, each `expected` field equals its
        value and (if given) `orderTime >= order_time_from`; all in one atomic write."""


class DynamoOrdersRepository:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    @staticmethod
    def _key(user_id: str, order_id: str) -> Dict[str, Any]:
        return {"userId": {"S": user_id}, "orderId": {"S": order_id}}

    def put_new(self, document: Mapping[str, Any], request_hash: str) -> Optional[StoredOrder]:
        item = to_item({"userId": document["userId"], "orderId": document["orderId"],
                        "data": dict(document), "requestHash": request_hash})
        try:
            self._client.put_item(TableName=self._table, Item=item,
                                  ConditionExpression="attribute_not_exists(orderId)",
                                  ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as exc:
            old = _failed_condition_item(exc)
            if old is None:
                raise
            return StoredOrder(document=old.get("data", {}), request_hash=old.get("requestHash"))
        return None

    def get(self, user_id: str, order_id: str) -> Optional[Dict[str, Any]]:
        response = self._client.get_item(TableName=self._table, Key=self._key(user_id, order_id),
                                         ProjectionExpression="#d", ExpressionAttributeNames={"#d": "data"})
        item = response.get("Item")
        return from_item(item)["data"] if item and "data" in item else None

    def query(self, user_id: str, limit: int, start_key: Optional[Dict[str, str]] = None) -> Page:
        kwargs: Dict[str, Any] = {}
        if start_key is not None:
            kwargs["ExclusiveStartKey"] = self._key(user_id, start_key["orderId"])
        # One more than asked: a full page is only followed by a token when something follows it.
        response = self._client.query(
            TableName=self._table, KeyConditionExpression="userId = :u",
            ExpressionAttributeValues={":u": {"S": user_id}},
            ProjectionExpression="orderId, #d", ExpressionAttributeNames={"#d": "data"},
            Limit=limit + 1, **kwargs)
        items = [from_item(item) for item in response.get("Items", [])]
        if len(items) > limit:
            return Page([i["data"] for i in items[:limit]], {"userId": user_id, "orderId": items[limit - 1]["orderId"]})
        last = response.get("LastEvaluatedKey")  # a 1 MB page: more may follow
        return Page([i["data"] for i in items], {"userId": user_id, "orderId": last["orderId"]["S"]} if last else None)

    def update(self, user_id: str, order_id: str, changes: Mapping[str, Any],
               expected: Mapping[str, Any], order_time_from: Optional[str] = None) -> UpdateOutcome:
        write_id = uuid.uuid4().hex
        names: Dict[str, str] = {"#d": "data", "#w": "lastWrite"}
        values: Dict[str, Any] = {":w": {"S": write_id}}
        sets: List[str] = ["#w = :w"]
        conditions = ["attribute_exists(orderId)"]
        for i, (field, value) in enumerate(changes.items()):
            names[f"#s{i}"] = field
            values[f":s{i}"] = to_value(value)
            sets.append(f"#d.#s{i} = :s{i}")
        for i, (field, value) in enumerate(expected.items()):
            names[f"#e{i}"] = field
            values[f":e{i}"] = to_value(value)
            conditions.append(f"#d.#e{i} = :e{i}")
        if order_time_from is not None:
            names["#ot"] = "orderTime"
            values[":from"] = to_value(order_time_from)
            conditions.append("#d.#ot >= :from")
        try:
            response = self._client.update_item(
                TableName=self._table, Key=self._key(user_id, order_id),
                UpdateExpression="SET " + ", ".join(sets), ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as exc:
            old = _failed_condition_item(exc)
            if old is None:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    return UpdateOutcome()  # no item at all
                raise
            if old.get("lastWrite") == write_id:  # an earlier attempt of this very call was applied
                return UpdateOutcome(document=old.get("data", {}))
            return UpdateOutcome(current=old.get("data", {}))
        return UpdateOutcome(document=from_item(response["Attributes"])["data"])


def _failed_condition_item(exc: ClientError) -> Optional[Dict[str, Any]]:
    """The old item returned with a ConditionalCheckFailedException, or None."""
    if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
        return None
    item = exc.response.get("Item")
    return from_item(item) if item else None


class InMemoryOrdersRepository:
    """The same contract in a dict. Values pass through DynamoDB's serializer both ways, so
    they come back with DynamoDB's types (numbers as Decimal)."""

    def __init__(self) -> None:
        self.items: Dict[Tuple[str, str], Dict[str, Any]] = {}  # (userId, orderId) -> the stored item
        self._lock = threading.Lock()
        self.calls = 0  # writes and reads made, to check "one round trip" rules

    @staticmethod
    def _roundtrip(value: Dict[str, Any]) -> Dict[str, Any]:
        return from_item(to_item(copy.deepcopy(value)))

    def put_new(self, document: Mapping[str, Any], request_hash: str) -> Optional[StoredOrder]:
        key = (document["userId"], document["orderId"])
        with self._lock:
            self.calls += 1
            old = self.items.get(key)
            if old is not None:
                old = self._roundtrip(old)
                return StoredOrder(document=old["data"], request_hash=old.get("requestHash"))
            self.items[key] = self._roundtrip({"userId": key[0], "orderId": key[1],
                                                "data": dict(document), "requestHash": request_hash})
        return None

    def get(self, user_id: str, order_id: str) -> Optional[Dict[str, Any]]:
        with self._lock:
            self.calls += 1
            item = self.items.get((user_id, order_id))
            return self._roundtrip(item)["data"] if item else None

    def query(self, user_id: str, limit: int, start_key: Optional[Dict[str, str]] = None) -> Page:
        with self._lock:
            self.calls += 1
            ids = sorted(o for (u, o) in self.items if u == user_id
                         and (start_key is None or o > start_key["orderId"]))
            page = [self._roundtrip(self.items[(user_id, o)])["data"] for o in ids[:limit]]
        return Page(page, {"userId": user_id, "orderId": ids[limit - 1]} if len(ids) > limit else None)

    def update(self, user_id: str, order_id: str, changes: Mapping[str, Any],
               expected: Mapping[str, Any], order_time_from: Optional[str] = None) -> UpdateOutcome:
        with self._lock:
            self.calls += 1
            item = self.items.get((user_id, order_id))
            if item is None:
                return UpdateOutcome()
            data = item["data"]
            held = all(field in data and data[field] == self._roundtrip({"v": value})["v"]
                       for field, value in expected.items())
            if order_time_from is not None:
                order_time = data.get("orderTime")
                held = held and isinstance(order_time, str) and order_time >= order_time_from
            if not held:
                return UpdateOutcome(current=self._roundtrip(item)["data"])
            new = copy.deepcopy(item)
            new["data"].update(copy.deepcopy(dict(changes)))
            new["lastWrite"] = uuid.uuid4().hex
            self.items[(user_id, order_id)] = self._roundtrip(new)
            return UpdateOutcome(document=self._roundtrip(new)["data"])
