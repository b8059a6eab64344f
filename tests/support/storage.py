"""Storage as the tests see it: what the orders table holds, read directly (consistent reads) by the
HTTP-level suites, and the repositories a contract case runs against."""
from typing import Any, Callable, Dict, Iterator, List

import pytest
from boto3.dynamodb.types import TypeDeserializer

from tests.support.apps import use_app
from tests.support.stack import StackHandle

# A contract fixture's params: the in-memory fake, and DynamoDB's implementation (integration only).
BACKENDS = ["in_memory", pytest.param("dynamodb", marks=pytest.mark.integration)]


def contract_repository(request: pytest.FixtureRequest, app_dir: str, fake: Callable[[], Any],
                        dynamo: Callable[[Any, str], Any], table: str) -> Iterator[Any]:
    """An empty repository of `app_dir` for the backend in `request.param` (one of BACKENDS): `fake()`,
    or `dynamo(client, name)` on a new table shaped like the stack's `table` in the local stack."""
    use_app(app_dir)
    if request.param == "in_memory":
        yield fake()
        return
    request.getfixturevalue("local_stack_only")
    stack = request.getfixturevalue("stack")
    with stack.scratch_table(table) as name:
        yield dynamo(stack.ddb, name)


def stored_items(stack: StackHandle, user_id: str, order_id: str) -> List[Dict[str, Any]]:
    """The OrdersTable items of (user_id, order_id), as DynamoDB returns them (typed attributes)."""
    response = stack.ddb.query(TableName=stack.table("OrdersTable"),
                               KeyConditionExpression="userId = :u AND orderId = :o",
                               ExpressionAttributeValues={":u": {"S": user_id}, ":o": {"S": order_id}},
                               ConsistentRead=True)
    return response["Items"]


def stored_orders(stack: StackHandle, user_id: str, order_id: str) -> List[Dict[str, Any]]:
    """The order documents (each item's `data`, numbers as Decimal) stored under (user_id, order_id)."""
    return [TypeDeserializer().deserialize(item["data"]) for item in stored_items(stack, user_id, order_id)]
