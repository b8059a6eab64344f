"""Users service settings, parsed once at import from the environment (see .chalice/config.json)."""
from dataclasses import dataclass
from typing import Mapping, Optional

from chalicelib.shared.settings import SettingsError, env_bool, env_choice, env_float, env_int, env_optional, env_str
from chalicelib.shared.tracing import MODES as TRACING_MODES


@dataclass(frozen=True)
class Settings:
    users_table: str
    region: str
    issuer: str
    jwks_url: str
    app_client_id: str
    allow_access_tokens: bool
    admin_group: str
    ddb_connect_timeout: float
    ddb_read_timeout: float
    ddb_max_attempts: int
    local_debug: bool
    service_name: str
    metrics_namespace: str
    tracing: str


def load(env: Optional[Mapping[str, str]] = None) -> Settings:
    """Read every setting; a missing or malformed one raises SettingsError (a broken deployment)."""
    region = env_optional("AWS_REGION", env) or env_optional("AWS_DEFAULT_REGION", env)
    if not region:
        raise SettingsError("environment variable AWS_REGION (or AWS_DEFAULT_REGION) is required")
    issuer = env_optional("JWT_ISSUER", env)
    if issuer is None:
        issuer = f"https://cognito-idp.{region}.amazonaws.com/{env_str('USER_POOL_ID', env=env)}"
    issuer = issuer.rstrip("/")
    return Settings(
        users_table=env_str("USERS_TABLE", env=env),
        region=region,
        issuer=issuer,
        jwks_url=env_optional("JWKS_URL", env) or f"{issuer}/.well-known/jwks.json",
        app_client_id=env_str("APP_CLIENT_ID", env=env),
        allow_access_tokens=env_bool("ALLOW_ACCESS_TOKENS", False, env),
        admin_group=env_str("ADMIN_GROUP_NAME", "apiAdmins", env),
        ddb_connect_timeout=env_float("DDB_CONNECT_TIMEOUT", 1.0, 0.1, 30.0, env),
        ddb_read_timeout=env_float("DDB_READ_TIMEOUT", 1.0, 0.1, 30.0, env),
        ddb_max_attempts=env_int("DDB_MAX_ATTEMPTS", 2, 1, 10, env),
        local_debug=env_bool("LOCAL_DEBUG", False, env),
        service_name=env_str("POWERTOOLS_SERVICE_NAME", "users", env),
        metrics_namespace=env_str("POWERTOOLS_METRICS_NAMESPACE", "ServerlessWorkshop", env),
        tracing=env_choice("TRACING", "off", TRACING_MODES, env),
    )
