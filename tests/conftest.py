"""Test-wide safety and the shared fixtures.

Every test runs with fake credentials in us-east-1, except when the integration suite is pointed at
a deployed stage (INTEGRATION_OUTPUTS=outputs.json without local endpoints, i.e. built from the
CloudFormation outputs by `make deploy`): only then are the caller's real credentials left alone.

The fixtures every folder may use (`stack`, `local_stack_only`) live in tests/support/fixtures.py,
registered here, the one place; each folder's conftest.py holds only that folder's fixtures.
"""
import json
import os
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tests.support.fixtures"]


def _targets_aws() -> bool:
    path = os.environ.get("INTEGRATION_OUTPUTS")
    if not path:
        return False
    outputs = json.loads(Path(path).read_text())
    return not (outputs.get("DynamoDBEndpointUrl") or outputs.get("CognitoEndpointUrl"))


if not _targets_aws():
    for _name, _value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        os.environ[_name] = _value
    os.environ.pop("AWS_PROFILE", None)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`make test` runs two pytest-xdist workers: each test file is one unit of work, so a module's own
    stack starts once, and tests/deploy is one unit, so the session's packages are built once (two
    workers packaging at once would also share Chalice's layer cache). xdist's `xdist_group` marker
    cannot do this under pytest 9.2 (it rewrites `item._nodeid`, which pytest no longer reads)."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/deploy" if path.startswith("tests/deploy/") else path

    return ByFile(config, log)
