# GENERATED from chalicelib_shared/settings.py by `make sync`. Do not edit: edit the source and run `make sync`.
"""Typed readers for environment variables. Each app parses its settings once, at import."""
import os
from typing import Mapping, Optional

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(RuntimeError):
    """A setting is missing or malformed: the deployment is wrong, not the request."""


def env_str(name: str, default: Optional[str] = None, env: Optional[Mapping[str, str]] = None) -> str:
    source = os.environ if env is None else env
    value = source.get(name, default)
    if value is None or value == "":
        raise SettingsError(f"environment variable {name} is required")
    return value


def env_optional(name: str, env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    source = os.environ if env is None else env
    return source.get(name) or None


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
    source = os.environ if env is None else env
    raw = source.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SettingsError(f"environment variable {name} must be true or false, got {raw!r}")
