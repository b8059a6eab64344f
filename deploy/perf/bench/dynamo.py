"""The bench's own DynamoDB Local: in memory, on a free loopback port, with the bench tables (the
merge templates' definitions under bench names) and one user and one order seeded."""
import subprocess
from pathlib import Path
from typing import Any, Optional

from deploy.perf.bench.fixtures import BENCH_TABLES, SEED_ORDER, SEED_SUB, BenchError, order_item, user_item, utc_now
from deploy.project import REGION


class BenchDynamo:
    """An in-memory DynamoDB Local on a free loopback port, with the bench tables and seed data."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.proc: Optional[subprocess.Popen] = None
        self.url = ""

    def start(self) -> "BenchDynamo":
        from deploy.local.processes import NotServing, ProcessError, dynamodb_command, free_port, spawn, wait_for_http

        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        try:
            command = dynamodb_command(port)
        except ProcessError as exc:
            raise BenchError(str(exc)) from None
        with open(self.log_path, "ab") as log:
            self.proc = spawn(command, log)
        try:
            wait_for_http(self.url, self.proc, timeout=60)
        except NotServing:
            raise BenchError(f"DynamoDB Local did not start: see {self.log_path}") from None
        self._create_tables()
        self._seed()
        return self

    def client(self) -> Any:
        import boto3

        return boto3.client("dynamodb", endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id="bench", aws_secret_access_key="bench")  # noqa: S106 - dummies

    def _create_tables(self) -> None:
        from deploy.local.tables import TableSpec, ensure_tables, table_specs

        specs = [TableSpec(s.logical_id, BENCH_TABLES[s.logical_id], s.properties) for s in table_specs()]
        ensure_tables(self.client(), specs)

    def _seed(self) -> None:
        ddb = self.client()
        now = utc_now()
        ddb.put_item(TableName=BENCH_TABLES["UsersTable"], Item=user_item(SEED_SUB, now))
        ddb.put_item(TableName=BENCH_TABLES["OrdersTable"], Item=order_item(SEED_SUB, SEED_ORDER, now))

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None
