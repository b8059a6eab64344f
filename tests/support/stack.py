"""What HTTP-level tests see of a stack, local or deployed, and how they start local ones.

`StackHandle` wraps a stack's outputs (the keys the CloudFormation stacks output, or
`.local/outputs.json`): stack.outputs, stack.users_url, stack.orders_url, stack.ddb, stack.idp,
stack.table("OrdersTable"), stack.new_user(admin=False) -> User(email, password, sub, id_token,
access_token), stack.scratch_table("UsersTable") (an empty table of that schema, for the
repository contract), stack.server_output("users_app" | "orders_app").

`start_local_stack(...)` runs deploy.local.stack's `Stack` (the code behind `make dev`) on free
ports; `start_special_stack(...)` is the same for a module that needs its own settings (workers,
persistence, LOCAL_CREATE_DELAY_MS). The session's shared stack is the `stack` fixture
(tests/support/fixtures.py).
"""
import contextlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Set, Tuple

import boto3
from botocore.config import Config as BotoConfig

from deploy.local import cognito
from deploy.local.processes import free_port
from deploy.local.stack import PORTS, Stack, StackConfig
from deploy.local.tables import table_specs
from deploy.project import APP_DIRS as APPS

LOGICAL_TABLES = {"UsersTable": ("users", "UsersTable"), "OrdersTable": ("orders", "OrdersTable"),
                  "IdempotencyTable": ("orders", "IdempotencyTable")}


@dataclass(frozen=True)
class User:
    email: str
    password: str
    sub: str
    id_token: str
    access_token: str


class StackHandle:
    """What integration tests see of a stack, local or deployed."""

    def __init__(self, outputs: Dict[str, Any], server_output: Optional[Callable[[str], str]] = None) -> None:
        self.outputs = outputs
        self.users_url = outputs["users"]["APIEndpoint"].rstrip("/")
        self.orders_url = outputs["orders"]["OrdersServiceEndpoint"].rstrip("/")
        region = outputs.get("Region") or "us-east-1"
        boto = BotoConfig(connect_timeout=2, read_timeout=15, retries={"max_attempts": 2})
        self.ddb = boto3.client("dynamodb", region_name=region, config=boto,
                                endpoint_url=outputs.get("DynamoDBEndpointUrl") or None)
        self.idp = boto3.client("cognito-idp", region_name=region, config=boto,
                                endpoint_url=outputs.get("CognitoEndpointUrl") or None)
        self._server_output = server_output
        self.created_logins: Dict[str, str] = {}          # email -> sub
        self.created_profiles: Set[str] = set()            # userid
        self.created_orders: Set[Tuple[str, str]] = set()  # (userId, orderId)

    @property
    def pool_id(self) -> str:
        return self.outputs["users"]["UserPool"]

    @property
    def client_id(self) -> str:
        return self.outputs["users"]["UserPoolClient"]

    @property
    def admin_group(self) -> str:
        return self.outputs["users"].get("UserPoolAdminGroupName") or "apiAdmins"

    def table(self, logical_id: str) -> str:
        section, key = LOGICAL_TABLES[logical_id]
        return self.outputs[section][key]

    @contextlib.contextmanager
    def scratch_table(self, logical_id: str) -> Iterator[str]:
        """A new, empty table with `logical_id`'s schema (from the deploy templates) under a unique
        name, deleted afterwards."""
        spec = next(s for s in table_specs() if s.logical_id == logical_id)
        kwargs = spec.create_kwargs()
        kwargs["TableName"] = f"{logical_id.lower()}-scratch-{uuid.uuid4().hex[:12]}"
        self.ddb.create_table(**kwargs)
        try:
            yield kwargs["TableName"]
        finally:
            self.ddb.delete_table(TableName=kwargs["TableName"])

    def new_user(self, admin: bool = False) -> User:
        """A fresh confirmed Cognito user (unique email), logged in with USER_PASSWORD_AUTH."""
        email = f"it-{uuid.uuid4().hex[:16]}@example.com"
        password = f"Pw-{uuid.uuid4().hex[:12]}Aa1"
        groups = [self.admin_group] if admin else []
        sub = cognito.ensure_user(self.idp, self.pool_id, email, password, groups)
        self.created_logins[email] = sub
        tokens = cognito.login(self.idp, self.client_id, email, password)
        return User(email, password, sub, tokens["IdToken"], tokens["AccessToken"])

    def note_response(self, method: str, url: str, status: int, body: Any) -> None:
        """Remember what a successful create made, so that `remove_created` can delete it."""
        if status != 200 or method not in ("POST", "PUT") or not isinstance(body, dict):
            return
        if url.startswith(self.users_url + "/users") and isinstance(body.get("userid"), str):
            self.created_profiles.add(body["userid"])
        elif url.startswith(self.orders_url + "/orders") and isinstance(body.get("orderId"), str) \
                and isinstance(body.get("userId"), str):
            self.created_orders.add((body["userId"], body["orderId"]))

    def remove_created(self) -> None:
        """Delete what this session created, item by item (never a scan-and-wipe)."""
        orders = set(self.created_orders)
        for sub in self.created_logins.values():  # also what tests wrote directly under their own users
            for page in self.ddb.get_paginator("query").paginate(
                    TableName=self.table("OrdersTable"), KeyConditionExpression="userId = :u",
                    ExpressionAttributeValues={":u": {"S": sub}}, ProjectionExpression="orderId"):
                orders.update((sub, item["orderId"]["S"]) for item in page.get("Items", []))
        for user_id, order_id in sorted(orders):
            self.ddb.delete_item(TableName=self.table("OrdersTable"),
                                 Key={"userId": {"S": user_id}, "orderId": {"S": order_id}})
        for userid in sorted(self.created_profiles | set(self.created_logins.values())):
            self.ddb.delete_item(TableName=self.table("UsersTable"), Key={"userid": {"S": userid}})
        for email in sorted(self.created_logins):
            try:
                self.idp.admin_delete_user(UserPoolId=self.pool_id, Username=email)
            except self.idp.exceptions.UserNotFoundException:
                pass

    def server_output(self, app: str) -> str:
        """Everything the app's gateway workers printed so far ("" for a stack we did not start)."""
        if app not in APPS:
            raise ValueError(f"unknown app {app}")
        return self._server_output(app) if self._server_output else ""


def free_port_env() -> Dict[str, str]:
    """Every port variable the stack reads (LOCAL_DYNAMODB_PORT, ..., LOCAL_AUTH_PORT), each set to a free
    port: for tests that start the stack as a user does, through `python -m deploy.local.stack`."""
    return {env: str(free_port()) for env, _ in PORTS.values()}


def start_local_stack(state_dir: Path, persistent: bool = False, apps: Sequence[str] = APPS, workers: int = 2,
                      app_env: Optional[Dict[str, str]] = None) -> Stack:
    """A stack on free ports with its state (and app logs) under `state_dir`; caller stops it."""
    ports = {name: free_port() for name in PORTS}  # every component the stack may start
    stack = Stack(StackConfig(state_dir=state_dir, ports=ports, persistent=persistent, workers=workers,
                              apps=apps, detach=False, apps_to_console=False, write_state=False,
                              extra_app_env=dict(app_env or {})))
    stack.start()
    return stack


def handle_for(local: Stack) -> StackHandle:
    """What tests see of a stack this session started: its outputs and its workers' output."""
    return StackHandle(local.outputs, lambda app: _read(local.log_file(app)))


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def start_special_stack(state_dir: Path, workers: int, persistent: bool,
                        env: Dict[str, str]) -> Tuple[Stack, StackHandle]:
    """A stack of a module's own (its caller stops it) and the handle tests use for it."""
    local = start_local_stack(state_dir, persistent=persistent, workers=workers, app_env=env)
    return local, handle_for(local)
