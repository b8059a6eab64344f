"""Load users_app and orders_app in one Python process.

Both apps have a top-level `app` module and a `chalicelib` package, so importing the second
would find the first one's modules in `sys.modules`. `use_app(name)` swaps the active app's
modules in and the other's out; each app is imported once and keeps its module objects, so
code that already holds references (test modules, fixtures) keeps working after a swap.

Test modules obtain app modules only through `load_app(...)` / `use_app(...)` / `app_module(...)`,
never with a top-level `import chalicelib...`. `load_app(name)` imports an app with its test
settings (`TEST_ENV[name]`), leaving os.environ as it was.
"""
import importlib
import os
import sys
from types import ModuleType
from typing import Dict, Mapping, Optional

from deploy.project import APP_DIRS as APPS
from deploy.project import ROOT
from tests.support import tokens

_stash: Dict[str, Dict[str, ModuleType]] = {}
_active: Optional[str] = None

# Everything each app reads at import, explicit, so another app's tests cannot leak values in.
TEST_ENV: Dict[str, Dict[str, str]] = {
    "users_app": {
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
        "TRACING": "off",
    },
    "orders_app": {
        "ORDERS_TABLE": "orders-local",
        "IDEMPOTENCY_TABLE": "orders-idempotency-local",
        "USER_POOL_ARN": f"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{tokens.POOL_ID}",
        "TRACING": "off",
    },
}


def _is_app_module(name: str) -> bool:
    return name == "app" or name == "chalicelib" or name.startswith("chalicelib.")


def use_app(name: str, env: Optional[Mapping[str, str]] = None) -> ModuleType:
    """Make `name` the importable `app`/`chalicelib`; import it on first use (with `env` set
    in os.environ first, since settings are parsed at import). Returns the `app` module."""
    global _active
    if name not in APPS:
        raise ValueError(f"unknown app {name}")
    if _active != name:
        if _active is not None:
            _stash[_active] = {k: sys.modules.pop(k) for k in list(sys.modules) if _is_app_module(k)}
            other_dir = str(ROOT / _active)
            while other_dir in sys.path:
                sys.path.remove(other_dir)
        else:
            for k in [k for k in sys.modules if _is_app_module(k)]:
                del sys.modules[k]
        app_dir = str(ROOT / name)
        sys.path.insert(0, app_dir)
        sys.modules.update(_stash.pop(name, {}))
        _active = name
    if "app" not in sys.modules:
        if env:
            os.environ.update(env)
        importlib.invalidate_caches()
        importlib.import_module("app")
    return sys.modules["app"]


def load_app(name: str) -> ModuleType:
    """The `app` module of `name`, imported (once) with TEST_ENV[name]; os.environ is left as it
    was, since settings are parsed at import and the other app's tests share this process."""
    saved = dict(os.environ)
    try:
        return use_app(name, TEST_ENV[name])
    finally:
        os.environ.clear()
        os.environ.update(saved)


def app_module(app_name: str, module: str) -> ModuleType:
    """Import `module` (e.g. "chalicelib.orders.service") from `app_name`."""
    use_app(app_name)
    return importlib.import_module(module)


def app_dir(name: str) -> str:
    return str(ROOT / name)
