"""An update whose first attempt DynamoDB applied but whose answer timed out is retried by the SDK;
the retry's condition then fails against our own write. That must read as success, not a conflict."""
from typing import Any, Optional

from botocore.exceptions import ClientError

from tests.support.apps import app_module


class ConditionFailsClient:
    """Answers UpdateItem as DynamoDB does when the condition fails, returning the stored item whose
    `lastWrite` is `last_write` (None: the id this very call sent, i.e. its earlier attempt applied)."""

    def __init__(self, last_write: Optional[str] = None) -> None:
        self.last_write = last_write

    def update_item(self, **params: Any) -> None:
        write_id = self.last_write or params["ExpressionAttributeValues"][":w"]["S"]
        item = {"userId": {"S": "u"}, "orderId": {"S": "o"}, "lastWrite": {"S": write_id},
                "data": {"M": {"orderId": {"S": "o"}, "status": {"S": "CANCELED"}}}}
        raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}, "Item": item}, "UpdateItem")


def _repo(client: Any) -> Any:
    return app_module("orders_app", "chalicelib.orders.repository").DynamoOrdersRepository(client, "orders")


def test_a_failed_condition_against_our_own_write_is_success(orders):
    outcome = _repo(ConditionFailsClient()).update("u", "o", {"status": "CANCELED"}, {"status": "PLACED"})
    assert outcome.document == {"orderId": "o", "status": "CANCELED"}
    assert outcome.current is None


def test_a_failed_condition_against_another_write_is_the_current_state(orders):
    outcome = _repo(ConditionFailsClient("someone-else")).update("u", "o", {"status": "CANCELED"},
                                                                  {"status": "PLACED"})
    assert outcome.document is None
    assert outcome.current == {"orderId": "o", "status": "CANCELED"}
