"""What every part of the bench shares: its identities, tables and seeded items, and the events and
contexts Lambda hands the functions. Standard library only: the warm child imports it beside the app."""
import json
import time
from typing import Any, Dict, Optional

from deploy.project import REGION

STAGE = "dev"
BENCH_TABLES = {"UsersTable": "bench-users", "OrdersTable": "bench-orders",
                "IdempotencyTable": "bench-orders-idempotency"}
POOL_ID = "us-east-1_BenchPool"
CLIENT_ID = "benchappclient0000000000000"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
ADMIN_GROUP = "apiAdmins"
SEED_SUB = "5b1c0d7e-0000-4000-8000-00000000be01"   # the seeded user (= its Cognito sub)
ADMIN_SUB = "5b1c0d7e-0000-4000-8000-00000000ad01"
SEED_ORDER = "0f0e0d0c-0000-4000-8000-000000000001"
FAKE_CREDS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench"}


class BenchError(Exception):
    """The bench itself cannot produce trustworthy numbers."""


# -- stored items ---------------------------------------------------------------------------------
def user_item(userid: str, now: str) -> Dict[str, Any]:
    return {"userid": {"S": userid}, "name": {"S": "Bench User"}, "email": {"S": "bench@example.com"},
            "createdAt": {"S": now}, "updatedAt": {"S": now}, "timestamp": {"S": now}}


def order_item(user_id: str, order_id: str, now: str, status: str = "PLACED") -> Dict[str, Any]:
    item = {"id": {"N": "1"}, "name": {"S": "Spaghetti"}, "price": {"N": "9.99"}, "quantity": {"N": "2"}}
    data = {"orderId": {"S": order_id}, "userId": {"S": user_id}, "restaurantId": {"N": "1"},
            "orderItems": {"L": [{"M": item}]}, "totalAmount": {"N": "19.98"}, "status": {"S": status},
            "orderTime": {"S": now}}
    return {"userId": {"S": user_id}, "orderId": {"S": order_id}, "data": {"M": data},
            "requestHash": {"S": "seeded-by-bench"}}


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# -- events and contexts --------------------------------------------------------------------------
def api_event(method: str, resource: str, path_params: Optional[Dict[str, str]], authorizer: Dict[str, Any],
              body: Any = None, query: Optional[Dict[str, str]] = None, request_id: str = "bench-request") -> Dict:
    """An API Gateway REST proxy event as Lambda receives it."""
    path = resource
    for key, value in (path_params or {}).items():
        path = path.replace("{" + key + "}", value)
    host = "abc123defg.execute-api.us-east-1.amazonaws.com"
    headers = {"Accept": "application/json", "Host": host, "User-Agent": "bench/1.0",
               "Authorization": "Bearer <verified by API Gateway>", "X-Forwarded-For": "127.0.0.1",
               "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return {
        "resource": resource, "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_params or None, "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123", "resourcePath": resource, "httpMethod": method, "path": f"/api{path}",
            "accountId": "123456789012", "protocol": "HTTP/1.1", "stage": "api", "domainPrefix": "abc123defg",
            "requestTimeEpoch": 1767225600000, "requestId": request_id, "extendedRequestId": request_id,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "bench/1.0"}, "domainName": host,
            "apiId": "abc123defg", "authorizer": authorizer,
        },
        "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
    }


def users_authorizer_context(sub: str, admin: bool) -> Dict[str, Any]:
    """What API Gateway puts in requestContext.authorizer after the users TOKEN authorizer allowed."""
    return {"principalId": sub, "sub": sub, "isAdmin": "true" if admin else "false", "tokenUse": "id",
            "integrationLatency": 0}


def cognito_authorizer_context(sub: str, admin: bool) -> Dict[str, Any]:
    """API Gateway's Cognito user pool authorizer: claims as strings."""
    claims = {"sub": sub, "aud": CLIENT_ID, "iss": ISSUER, "token_use": "id", "email": "bench@example.com",
              "email_verified": "true", "auth_time": "1767225600", "exp": "Thu Jan 01 01:00:00 UTC 2026",
              "iat": "Thu Jan 01 00:00:00 UTC 2026", "cognito:username": sub}
    if admin:
        claims["cognito:groups"] = ADMIN_GROUP
    return {"claims": claims}


def authorizer_event(token: str) -> Dict[str, Any]:
    """What API Gateway sends a TOKEN authorizer."""
    return {"type": "TOKEN", "authorizationToken": token,
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123defg/api/GET/users"}


class FakeLambdaContext:
    def __init__(self, function_name: str, request_id: str = "bench-request", timeout_s: float = 10.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "2026/01/01/[$LATEST]bench"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
