"""The shared fixtures, registered once for the whole suite (`pytest_plugins` in tests/conftest.py).

`stack` (session): a real local stack (or an existing one) for HTTP-level tests. By default the
session starts its own with deploy.local.stack's `Stack` (the code behind `make dev`), on free ports,
DynamoDB Local in memory, a temporary state directory, and each API's worker output captured to a
file (`stack.server_output(app)`). Everything is stopped at the end. Nothing starts until a test
asks for it, so `make test-unit` starts no stack.

With INTEGRATION_OUTPUTS=path/to/outputs.json the tests run against that stack instead (a running
`make up`, or a deployed stage whose file is built from the CloudFormation outputs, same keys). There
the session removes, at its end, exactly what it created: the Cognito users it signed up, and the user
profiles and orders that its requests created (seen in the answers to successful creates); it never
scans and wipes a table. Idempotency records expire by their TTL.

`local_stack_only`: skips a test that checks the local stack's own processes when INTEGRATION_OUTPUTS
points elsewhere.
"""
import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.support.stack import StackHandle, handle_for, start_local_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackHandle]:
    existing = os.environ.get("INTEGRATION_OUTPUTS")
    if existing:
        handle = StackHandle(json.loads(Path(existing).read_text()))
        original_send = requests.Session.send

        def send(session: requests.Session, request: Any, **kwargs: Any) -> requests.Response:
            response = original_send(session, request, **kwargs)
            try:
                body = response.json() if response.status_code == 200 else None
            except ValueError:
                body = None
            handle.note_response(request.method or "", request.url or "", response.status_code, body)
            return response
        requests.Session.send = send
        try:
            yield handle
        finally:
            requests.Session.send = original_send
            handle.remove_created()
        return
    local = start_local_stack(tmp_path_factory.mktemp("local-stack"))
    try:
        yield handle_for(local)
    finally:
        local.stop()


@pytest.fixture(scope="session")
def local_stack_only() -> None:
    if os.environ.get("INTEGRATION_OUTPUTS"):
        pytest.skip("checks the local stack's own processes; INTEGRATION_OUTPUTS points elsewhere")
