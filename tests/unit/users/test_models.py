"""Input validation rules (accepted types and bounds are documented in chalicelib/users/models.py)."""
from typing import Any

import pytest


@pytest.mark.parametrize("email", ["a@b.co", "first.last+tag@sub.example.com", "x_y@a-b.org"])
def test_valid_emails(mod: Any, email: str) -> None:
    assert mod.models.parse_create({"name": "n", "email": email}).email == email


@pytest.mark.parametrize("email", ["", "a", "a@b", "a@@b.co", "a b@c.co", "a@b.co ", "@b.co", "a@-b.co",
                                   "a@b..co", "a\n@b.co", "a@b.co\n"])
def test_invalid_emails(mod: Any, email: str) -> None:
    with pytest.raises(mod.errors.ValidationFailed) as info:
        mod.models.parse_create({"name": "n", "email": email})
    assert set(info.value.fields) == {"email"}


@pytest.mark.parametrize("userid,ok", [("a", True), ("A-z_0", True), ("u" * 128, True), ("u" * 129, False),
                                       ("", False), ("a.b", False), ("a/b", False), ("é", False), (None, False)])
def test_userid_format(mod: Any, userid: Any, ok: bool) -> None:
    assert mod.models.is_valid_userid(userid) is ok


def test_null_email_means_none_and_fields_are_all_reported(mod: Any) -> None:
    assert mod.models.parse_update({"name": "n", "email": None}, "u").email is None
    with pytest.raises(mod.errors.ValidationFailed) as info:
        mod.models.parse_update({"email": 1, "updatedAt": "x", "userid": "bad id"}, "u")
    assert set(info.value.fields) == {"name", "email", "updatedAt", "userid"}
    assert info.value.fields["name"] == "is required" and info.value.fields["email"] == "must be a string"
    with pytest.raises(mod.errors.ValidationFailed) as info:
        mod.models.parse_update({"name": "n", "userid": "v"}, "u")
    assert info.value.fields == {"userid": "must equal the user id in the path (or be left out)"}
    assert mod.models.parse_update({"name": "n", "userid": "u"}, "u") == mod.models.UpdateUser("n", None)


@pytest.mark.parametrize("name", ["a\u0007b", "a\u0000b", "a\u007fb", "tab\there", "line\nbreak"])
def test_control_characters_rejected(mod: Any, name: str) -> None:
    with pytest.raises(mod.errors.ValidationFailed):
        mod.models.parse_create({"name": name})


def test_models_describe_themselves_for_openapi(mod: Any) -> None:
    schema = mod.models.CREATE_USER.json_schema()
    assert schema["required"] == ["name"] and schema["additionalProperties"] is False
    assert schema["properties"]["userid"]["pattern"] == "^[A-Za-z0-9_-]+$"
    assert schema["properties"]["name"]["maxLength"] == 256 and schema["properties"]["email"]["maxLength"] == 254


def test_pattern_failures_are_explained_in_words_not_regexes(mod: Any) -> None:
    with pytest.raises(mod.errors.ValidationFailed) as info:
        mod.models.parse_create({"name": "   ", "email": "not-an-address", "userid": "a b"})
    assert info.value.fields == {"name": "must not be blank", "email": "must be an e-mail address (name@domain)",
                                 "userid": "must be letters, digits, '-' and '_' only"}
