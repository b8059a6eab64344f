"""Create the local tables from the deploy templates (the one source of truth for key schemas).

`table_specs()` reads every `AWS::DynamoDB::Table` in deploy/aws/users/template.json and
deploy/aws/orders/template.json and names it from the app's `local` stage in .chalice/config.json
(UsersTable -> USERS_TABLE, OrdersTable -> ORDERS_TABLE, IdempotencyTable -> IDEMPOTENCY_TABLE).
`ensure_tables()` creates the missing ones and keeps existing tables (and their data).
"""
import json
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Tuple

from deploy.project import ORDERS, ROOT, USERS, App, stage_env

# logical id -> (the app whose merge template defines it, env var in the app's `local` stage)
TABLES: Dict[str, Tuple[App, str]] = {
    "UsersTable": (USERS, "USERS_TABLE"),
    "OrdersTable": (ORDERS, "ORDERS_TABLE"),
    "IdempotencyTable": (ORDERS, "IDEMPOTENCY_TABLE"),
}


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    name: str
    properties: Dict[str, Any]

    def create_kwargs(self) -> Dict[str, Any]:
        props = self.properties
        kwargs: Dict[str, Any] = {
            "TableName": self.name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if kwargs["BillingMode"] == "PROVISIONED":
            kwargs["ProvisionedThroughput"] = props.get(
                "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if key in props:
                kwargs[key] = props[key]
        return kwargs

    @property
    def ttl(self) -> Any:
        spec = self.properties.get("TimeToLiveSpecification")
        return spec if spec and spec.get("Enabled") else None


def table_specs() -> List[TableSpec]:
    specs = []
    for logical_id, (app, env_name) in TABLES.items():
        resources = json.loads(app.template.read_text())["Resources"]
        resource = resources[logical_id]
        if resource.get("Type") != "AWS::DynamoDB::Table":
            raise ValueError(f"{app.template.relative_to(ROOT)}: {logical_id} is not an AWS::DynamoDB::Table")
        name = stage_env(app).get(env_name)
        if not name:
            raise ValueError(f"{app.dir}/.chalice/config.json: the local stage has no {env_name}")
        specs.append(TableSpec(logical_id, name, resource["Properties"]))
    return specs


def table_names() -> Dict[str, str]:
    """Logical id -> local table name."""
    return {spec.logical_id: spec.name for spec in table_specs()}


def ensure_tables(ddb: Any, specs: List[TableSpec], timeout: float = 20.0) -> List[str]:
    """Create the tables that do not exist yet; returns the names created."""
    existing = set()
    for page in ddb.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    created = []
    for spec in specs:
        if spec.name in existing:
            continue
        try:
            ddb.create_table(**spec.create_kwargs())
        except ddb.exceptions.ResourceInUseException:
            continue
        created.append(spec.name)
    deadline = time.monotonic() + timeout
    for spec in specs:
        while ddb.describe_table(TableName=spec.name)["Table"]["TableStatus"] != "ACTIVE":
            if time.monotonic() > deadline:
                raise TimeoutError(f"table {spec.name} did not become ACTIVE")
            time.sleep(0.1)
        if spec.ttl:
            current = ddb.describe_time_to_live(TableName=spec.name)["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                ddb.update_time_to_live(TableName=spec.name, TimeToLiveSpecification={
                    "AttributeName": spec.ttl["AttributeName"], "Enabled": True})
    return created
