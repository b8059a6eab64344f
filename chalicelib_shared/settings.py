"""Typed readers for environment variables. Each app parses its settings once, at import.

A value that is a placeholder (`REPLACED_BY_MERGE_TEMPLATE`, `<table name>`, an unresolved `${...}`,
...) is an error, never a running function: a Lambda function started with one fails its init naming
the variable. The one exception is `chalice package` importing the app, where the stage's
placeholders are expected (the merge template replaces them in the package).
"""
import os
import re
from typing import Mapping, Optional, Tuple

from .chalice_cli import packaging

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
PLACEHOLDER = re.compile(
    r"(?i:REPLACED?_(?:BY|ME|WITH)|PLACEHOLDER|CHANGE_?ME|FILL_?(?:ME_?)?IN)"  # the usual markers, any case
    r"|\b(?:TODO|FIXME|TBD|XXX)\b"                                             # upper-case markers, whole words
    r"|<[^<>]*>"                                                              # <table name>
    r"|\$\{[^}]*\}")                                                          # an unresolved ${Sub}


class SettingsError(RuntimeError):
    """A setting is missing or malformed: the deployment is wrong, not the request."""


def _get(name: str, env: Optional[Mapping[str, str]], default: Optional[str] = None) -> Optional[str]:
    """The raw value; a placeholder raises (except while `chalice package` imports the app)."""
    value = (os.environ if env is None else env).get(name, default)
    if value and PLACEHOLDER.search(value) and not packaging():
        raise SettingsError(f"environment variable {name} is the placeholder {value!r}, not a value: "
                            f"deploy with `make deploy` (the stack sets it) or set it for this stage")
    return value


def env_str(name: str, default: Optional[str] = None, env: Optional[Mapping[str, str]] = None) -> str:
    value = _get(name, env, default)
    if value is None or value == "":
        raise SettingsError(f"environment variable {name} is required")
    return value


def env_optional(name: str, env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    return _get(name, env) or None


def env_int(name: str, default: int, minimum: int = 0, maximum: int = 2**31,
            env: Optional[Mapping[str, str]] = None) -> int:
    raw = env_str(name, str(default), env)
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"environment variable {name} must be between {minimum} and {maximum}")
    return value


def env_float(name: str, default: float, minimum: float = 0.0, maximum: float = 3600.0,
              env: Optional[Mapping[str, str]] = None) -> float:
    raw = env_str(name, str(default), env)
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"environment variable {name} must be a number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"environment variable {name} must be between {minimum} and {maximum}")
    return value


def env_bool(name: str, default: bool, env: Optional[Mapping[str, str]] = None) -> bool:
    raw = _get(name, env)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SettingsError(f"environment variable {name} must be true or false, got {raw!r}")


def env_choice(name: str, default: str, choices: Tuple[str, ...], env: Optional[Mapping[str, str]] = None) -> str:
    value = (_get(name, env) or default).strip().lower()
    if value not in choices:
        raise SettingsError(f"environment variable {name} must be one of {', '.join(choices)}, got {value!r}")
    return value
