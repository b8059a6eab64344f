"""What the users API accepts, declared once with the shared schema module: the fields of a user,
the stored time format, the request bodies and their parsed forms, the path's `{userid}` and the list limits. The same
definitions validate requests and describe them in OpenAPI (`CREATE_USER.json_schema()`);
render.py builds the user document's declaration from these fields.

Accepted types, decided once:
- `name`: a JSON string of 1-256 characters, not blank, no control characters. Required.
- `email`: a JSON string of at most 254 characters shaped like an address (local part, `@`,
  dotted domain); `null` or absent means "no email" (the document says `nullable: true`).
- `userid`: a JSON string of 1-128 letters, digits, `-` and `_` (POST: optional, else a UUID4;
  PUT: only when equal to the path's, since clients echo a GET back).
`null` for any other field (`userid`, `name`) is refused like any other wrong type.
Numbers, booleans, arrays or objects for these fields, unknown fields and the read-only
`createdAt`/`updatedAt`/`timestamp` are a 400 ValidationError whose `Fields` name each problem.
"""
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

from chalicelib.shared.errors import ValidationFailed
from chalicelib.shared.schema import NONBLANK_TEXT, Invalid, Nullable, Object, Required, String, Text

LIST_DEFAULT_LIMIT = 50  # GET /users?limit=1..LIST_MAX_LIMIT
LIST_MAX_LIMIT = 100

USERID_PATTERN = r"[A-Za-z0-9_-]+"
EMAIL_PATTERN = (r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                 r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")

USERID = String(1, 128, pattern=USERID_PATTERN, mismatch="must be letters, digits, '-' and '_' only",
                description="Letters, digits, '-' and '_' (meant to be the Cognito sub of a login).")
NAME = String(1, 256, pattern=NONBLANK_TEXT, mismatch="must not be blank",
              description="Display name; not blank, no control characters.")
# No `format: email` in the document: JSON Schema's email format is RFC 5322's (no leading, trailing or double
# dot in the local part, ...), looser and stricter than this pattern in places, so a document saying both would
# promise what the check does not do (schemathesis sent ".a@b.do", which fits the pattern, as invalid data).
# The pattern is the rule, checked and published as is.
EMAIL = String(3, 254, pattern=EMAIL_PATTERN, mismatch="must be an e-mail address (name@domain)",
               description="Optional contact address.")
TIME = Text(format="date-time")  # stored times (createdAt, updatedAt), as format_time writes them

CREATE_USER = Object({"name": Required(NAME), "email": Nullable(EMAIL), "userid": USERID},
                     description="POST /users. Without `userid` the service assigns a UUID4.")
UPDATE_USER = Object({"name": Required(NAME), "email": Nullable(EMAIL), "userid": USERID},
                     description="PUT /users/{userid}: replaces name and email (an absent email is removed); "
                                 "`userid`, if sent, must equal the path.")


@dataclass(frozen=True)
class CreateUser:
    name: str
    email: Optional[str]
    userid: Optional[str]


@dataclass(frozen=True)
class UpdateUser:
    name: str
    email: Optional[str]


def format_time(moment: datetime) -> str:
    """The one stored timestamp format: ISO-8601 UTC with microseconds, e.g. 2026-11-24T22:56:34.123456+00:00."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def is_valid_userid(value: Any) -> bool:
    try:
        USERID.check(value, "userid")
    except Invalid:
        return False
    return True


def check_userid(value: str) -> str:
    """A path `{userid}`: 400 (field `userid`) unless it has the stored format."""
    if not is_valid_userid(value):
        raise ValidationFailed({"userid": "must be 1-128 characters of letters, digits, '-' and '_'"},
                               "The user id in the path is invalid.")
    return value


def parse_create(body: Mapping[str, Any]) -> CreateUser:
    clean = CREATE_USER.parse(body)
    return CreateUser(name=clean["name"], email=clean.get("email"), userid=clean.get("userid"))


def parse_update(body: Mapping[str, Any], path_userid: str) -> UpdateUser:
    clean = UPDATE_USER.parse(body)
    if clean.get("userid", path_userid) != path_userid:
        raise ValidationFailed({"userid": "must equal the user id in the path (or be left out)"})
    return UpdateUser(name=clean["name"], email=clean.get("email"))
