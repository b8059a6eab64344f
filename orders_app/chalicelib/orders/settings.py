"""Orders service settings, parsed once at import from the environment (see .chalice/config.json)."""
from dataclasses import dataclass
from typing import Mapping, Optional

from chalicelib.shared.settings import env_bool, env_choice, env_float, env_int, env_str
from chalicelib.shared.tracing import MODES as TRACING_MODES


@dataclass(frozen=True)
class Settings:
    orders_table: str
    idempotency_table: str
    user_pool_arn: str
    admin_group: str
    idempotency_expiry_seconds: int
    cancel_window_seconds: int
    ddb_connect_timeout: float
    ddb_read_timeout: float
    ddb_max_attempts: int
    local_debug: bool
    service_name: str
    metrics_namespace: str
    tracing: str


def load(env: Optional[Mapping[str, str]] = None) -> Settings:
    """Read every setting; a missing or malformed one raises SettingsError (a broken deployment)."""
    return Settings(
        orders_table=env_str("ORDERS_TABLE", env=env),
        idempotency_table=env_str("IDEMPOTENCY_TABLE", env=env),
        user_pool_arn=env_str("USER_POOL_ARN", env=env),
        admin_group=env_str("ADMIN_GROUP_NAME", "apiAdmins", env),
        idempotency_expiry_seconds=env_int("IDEMPOTENCY_EXPIRY_SECONDS", 3600, 1, 7 * 86400, env),
        cancel_window_seconds=env_int("CANCEL_WINDOW_SECONDS", 600, 0, 7 * 86400, env),
        ddb_connect_timeout=env_float("DDB_CONNECT_TIMEOUT", 1.0, 0.05, 30.0, env),
        ddb_read_timeout=env_float("DDB_READ_TIMEOUT", 1.0, 0.05, 30.0, env),
        ddb_max_attempts=env_int("DDB_MAX_ATTEMPTS", 2, 1, 10, env),
        local_debug=env_bool("LOCAL_DEBUG", False, env),
        service_name=env_str("POWERTOOLS_SERVICE_NAME", "orders", env),
        metrics_namespace=env_str("POWERTOOLS_METRICS_NAMESPACE", "ServerlessWorkshop", env),
        tracing=env_choice("TRACING", "off", TRACING_MODES, env),
    )
