"""Loading the users app in the test process with test settings, and a fake clock."""
import os
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.support.apps import use_app
from tests.unit.users import tokens

# Everything the users app reads, explicit, so another app's tests cannot leak values in.
ENV = {
    "USERS_TABLE": "users-unit",
    "USER_POOL_ID": "us-east-1_UnitTest",
    "JWT_ISSUER": tokens.ISSUER,
    "APP_CLIENT_ID": tokens.CLIENT_ID,
    "JWKS_URL": "http://127.0.0.1:9/jwks.json",  # never fetched: tests swap the verifier
    "ALLOW_ACCESS_TOKENS": "false",
    "ADMIN_GROUP_NAME": tokens.ADMIN_GROUP,
    "LOCAL_DEBUG": "false",
    "POWERTOOLS_SERVICE_NAME": "users",
    "POWERTOOLS_METRICS_NAMESPACE": "ServerlessWorkshop",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def load_users_app() -> Any:
    """The users `app` module, imported (once) with ENV; os.environ is left as it was, since
    settings are parsed at import and other apps' tests share this process."""
    saved = dict(os.environ)
    try:
        return use_app("users_app", ENV)
    finally:
        os.environ.clear()
        os.environ.update(saved)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
