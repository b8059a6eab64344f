"""Test-wide safety: no test reaches real AWS unless told to.

By default every test runs with fake credentials in us-east-1. The integration suite can be
pointed at a deployed stage (INTEGRATION_OUTPUTS=outputs.json built from the stacks' outputs);
only then are the caller's real credentials and region left alone.
"""
import os

if not os.environ.get("INTEGRATION_OUTPUTS"):
    for _name, _value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        os.environ[_name] = _value
    os.environ.pop("AWS_PROFILE", None)
