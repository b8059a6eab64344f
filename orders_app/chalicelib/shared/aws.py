# GENERATED from chalicelib_shared/aws.py by `make sync`. Do not edit: edit the source and run `make sync`.
"""The one way both apps build AWS clients: created once per container, with short timeouts.

botocore's defaults (60 s connect and read, several retries) would let one slow dependency
hold a request past the Lambda and API Gateway timeouts; a service answers 503 instead.

boto3 is imported on first use, not with this module: importing boto3 loads botocore's session
machinery (about 90 ms of a cold start), and a function that never calls DynamoDB (the users
authorizer, which shares app.py with the API) should not pay for it.
"""
import functools
from typing import Any, Dict, Tuple


def dynamodb_client(connect_timeout: float = 1.0, read_timeout: float = 1.0, max_attempts: int = 2) -> Any:
    """A DynamoDB client that gives up after `max_attempts` calls in all (botocore's `max_attempts`
    would count retries only) of at most connect + read timeout each."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                    retries={"total_max_attempts": max_attempts, "mode": "standard"},
                    tcp_keepalive=True)
    # boto3's default session: one place where a botocore event hook sees every client (the benchmark
    # counts DynamoDB round trips that way, the idempotency layer's included).
    return boto3.client("dynamodb", config=config)


@functools.lru_cache(maxsize=None)
def _codec() -> Tuple[Any, Any]:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
    return TypeSerializer(), TypeDeserializer()


def to_item(document: Dict[str, Any]) -> Dict[str, Any]:
    """A plain dict (str, int, Decimal, bool, None, list, dict) as DynamoDB attribute values."""
    serialize = _codec()[0].serialize
    return {key: serialize(value) for key, value in document.items()}


def from_item(item: Dict[str, Any]) -> Dict[str, Any]:
    """DynamoDB attribute values as a plain dict (numbers come back as Decimal)."""
    deserialize = _codec()[1].deserialize
    return {key: deserialize(value) for key, value in item.items()}


def to_value(value: Any) -> Dict[str, Any]:
    return _codec()[0].serialize(value)
