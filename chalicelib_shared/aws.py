"""The one way both apps build AWS clients: created once per container, with short timeouts.

botocore's defaults (60 s connect and read, several retries) would let one slow dependency
hold a request past the Lambda and API Gateway timeouts; a service answers 503 instead.
"""
from typing import Any, Dict

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def dynamodb_client(connect_timeout: float = 1.0, read_timeout: float = 1.0, max_attempts: int = 2) -> Any:
    """A DynamoDB client that gives up after `max_attempts` calls in all (botocore's `max_attempts`
    would count retries only) of at most connect + read timeout each."""
    config = Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                    retries={"total_max_attempts": max_attempts, "mode": "standard"},
                    tcp_keepalive=True)
    # boto3's default session: one place where a botocore event hook sees every client (the benchmark
    # counts DynamoDB round trips that way, the idempotency layer's included).
    return boto3.client("dynamodb", config=config)


def to_item(document: Dict[str, Any]) -> Dict[str, Any]:
    """A plain dict (str, int, Decimal, bool, None, list, dict) as DynamoDB attribute values."""
    return {key: _serializer.serialize(value) for key, value in document.items()}


def from_item(item: Dict[str, Any]) -> Dict[str, Any]:
    """DynamoDB attribute values as a plain dict (numbers come back as Decimal)."""
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def to_value(value: Any) -> Dict[str, Any]:
    return _serializer.serialize(value)
