"""chalicelib_shared.settings: a placeholder is an error naming the variable, never a value.

(`chalice package`, the one place placeholders are expected, is exercised by every packaging test in
tests/deploy: the dev and prod stages declare REPLACED_BY_MERGE_TEMPLATE and must still package.)
"""
import pytest

from chalicelib_shared.settings import SettingsError, env_bool, env_int, env_optional, env_str


@pytest.mark.parametrize("value", [
    "REPLACED_BY_MERGE_TEMPLATE",
    "arn:aws:cognito-idp:us-east-1:123456789012:userpool/REPLACED_BY_MERGE_TEMPLATE",
    "replace_me", "PLACEHOLDER", "my-placeholder-table", "CHANGEME", "change_me", "FILL_IN", "fill_me_in",
    "TODO", "users-TBD", "XXX", "<table name>", "https://cognito-idp.us-east-1.amazonaws.com/<pool id>",
    "${UsersTable}",
])
def test_placeholders_are_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match=r"environment variable USERS_TABLE is the placeholder"):
        env_str("USERS_TABLE", env={"USERS_TABLE": value})
    with pytest.raises(SettingsError, match="USERS_TABLE"):
        env_optional("USERS_TABLE", env={"USERS_TABLE": value})


@pytest.mark.parametrize("value", [
    "users-local", "serverless-patterns-users-dev-UsersTable-1ABCDEF", "us-east-1_AbC123xyz", "todo-items",
    "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC123xyz", "apiAdmins",
    "http://127.0.0.1:9229/us-east-1_x/.well-known/jwks.json", "ServerlessWorkshop/serverless-patterns-users-dev",
])
def test_real_values_pass(value: str) -> None:
    assert env_str("USERS_TABLE", env={"USERS_TABLE": value}) == value


def test_typed_readers_refuse_placeholders_too() -> None:
    with pytest.raises(SettingsError, match="DDB_MAX_ATTEMPTS is the placeholder"):
        env_int("DDB_MAX_ATTEMPTS", 2, env={"DDB_MAX_ATTEMPTS": "<attempts>"})
    with pytest.raises(SettingsError, match="LOCAL_DEBUG is the placeholder"):
        env_bool("LOCAL_DEBUG", False, env={"LOCAL_DEBUG": "REPLACED_BY_MERGE_TEMPLATE"})


def test_a_placeholder_default_is_refused_as_well() -> None:
    with pytest.raises(SettingsError, match="ADMIN_GROUP_NAME"):
        env_str("ADMIN_GROUP_NAME", "CHANGE_ME", env={})
