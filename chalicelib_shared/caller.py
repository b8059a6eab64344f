"""Who is calling: one `Caller(sub, is_admin)` for both apps, read from what the route's authorizer
put in `requestContext.authorizer`, with one constructor per authorizer kind:

- `Caller.from_custom_authorizer(context)`: behind a custom TOKEN authorizer (users), whose context is
  flat strings `{"sub", "isAdmin": "true"|"false", ...}` and whose principalId is the sub;
- `Caller.from_cognito_authorizer(context, admin_group)`: behind a Cognito user-pool authorizer
  (orders), whose claims arrive as strings in AWS and as JSON types locally (`cognito:groups` either way).

Either way a request without a sub is a 401: the authorizer guarantees one, and without it we must
not guess an identity. Behind the Cognito authorizer the claims must also be an ID token's
(`token_use: id`), else 401: API Gateway's COGNITO_USER_POOLS authorizer validates an ID token on a
method without authorization scopes (ours have none) and requires an access token only on a method
that has scopes (README, "Access tokens"). The app says the same on its own, so an access token never
acts as the user, whatever a gateway or an emulator lets through. What a caller may do is each
service's rule, not this class's.
"""
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from .claims import claims_from_context, groups_from_claim
from .errors import Unauthorized


@dataclass(frozen=True)
class Caller:
    sub: str
    is_admin: bool

    @classmethod
    def from_custom_authorizer(cls, context: Optional[Mapping[str, Any]]) -> "Caller":
        authorizer = (context or {}).get("authorizer") or {}
        sub = authorizer.get("principalId") or authorizer.get("sub")
        return cls(sub=_required(sub), is_admin=str(authorizer.get("isAdmin", "false")).lower() == "true")

    @classmethod
    def from_cognito_authorizer(cls, context: Optional[Mapping[str, Any]], admin_group: str) -> "Caller":
        claims = claims_from_context((context or {}).get("authorizer"))
        if claims.get("token_use") != "id":
            raise Unauthorized("Unauthorized")
        return cls(sub=_required(claims.get("sub")),
                   is_admin=admin_group in groups_from_claim(claims.get("cognito:groups")))


def _required(sub: Any) -> str:
    if not isinstance(sub, str) or not sub:
        raise Unauthorized("Unauthorized")
    return sub
