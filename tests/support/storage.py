"""What the orders table holds, read directly (consistent reads) by the HTTP-level suites."""
from typing import Any, Dict, List

from boto3.dynamodb.types import TypeDeserializer

from tests.support.stack import StackHandle


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
