"""A LocalGateway that authorizes like API Gateway, for `make dev` and for the unit tests.

Chalice's local mode (`chalice local` and `chalice.test.Client` share `chalice.local.LocalGateway`)
differs from API Gateway where it matters most:

- a `CognitoUserPoolAuthorizer` is not enforced (no token passes, an unsigned or expired one
  passes with its claims). Here it is verified with the shared `CognitoVerifier`, taking the token
  kind AWS documents for a COGNITO_USER_POOLS authorizer: on a method without authorization scopes
  (all of ours) an ID token, so an access token is a 401; on a method with scopes
  (`authorizer.with_scopes([...])`) an access token carrying one of them, so an ID token is a 401
  (README, "Access tokens").
- a custom TOKEN authorizer that raises `Exception("Unauthorized")` escapes (test client) or drops
  the connection (`chalice local`). Here it becomes 401, as API Gateway answers; any other
  authorizer failure becomes API Gateway's AUTHORIZER_FAILURE, which our deploy templates make
  a JSON 503.
- errors the gateway itself produces (no route, missing token, denied) are plain or HTML text, and
  a method the app does not declare on a path reaches the app (Chalice answers 405, OPTIONS 200).
  Here every one is the services' JSON error shape, and a method or path the app does not declare
  gets what API Gateway answers for it as deployed: the merge template's MISSING_AUTHENTICATION_TOKEN
  gateway response (deploy/local/gateway_responses.py; ours: a JSON 404 `NotFound`).
- a custom authorizer is invoked on every request. API Gateway caches its result per token for the
  authorizer's TTL and judges later requests to any route against the cached policy; here too
  (deploy/local/authcache.py), so a policy that lists only the route called first fails locally.
"""
import json
import uuid
from typing import Any, Dict, List, Optional

from chalice.app import Chalice, ChaliceAuthorizer, CognitoUserPoolAuthorizer
from chalice.config import Config
from chalice.local import (
    ForbiddenError,
    InvalidAuthorizerError,
    LambdaContext,
    LocalGateway,
    LocalGatewayAuthorizer,
    LocalGatewayException,
)
from chalice.test import Client, TestHTTPClient

from chalicelib_shared.errors import error_body
from chalicelib_shared.verifier import CognitoVerifier, KeysUnavailable, TokenError
from deploy.local.authcache import DEFAULT_TTL_SECONDS, AuthCache, MemoryAuthCache, cache_key
from deploy.local.gateway_responses import missing_authentication_token


class GatewayError(Exception):
    """An answer the gateway gives without (or instead of) the Lambda's."""

    def __init__(self, status: int, code: str, message: str,
                 headers: Optional[Dict[str, str]] = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def response(self, request_id: str = "") -> Dict[str, Any]:
        headers = {"Content-Type": "application/json", **self.headers}
        if request_id:
            headers["x-amzn-RequestId"] = request_id
        return {"statusCode": self.status, "headers": headers, "multiValueHeaders": {},
                "body": json.dumps(error_body(self.code, self.message), separators=(",", ":"))}


class MissingAuthenticationToken(Exception):
    """No method at this method and path: answered with the template's gateway response."""


def unauthorized() -> GatewayError:
    return GatewayError(401, "Unauthorized", "Unauthorized")


def _header(headers: Dict[str, Any], name: str) -> Optional[str]:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _ttl(authorizer: ChaliceAuthorizer) -> float:
    """The authorizer's cache TTL as deployed: `@app.authorizer(ttl_seconds=...)`; Chalice leaves
    authorizerResultTtlInSeconds out of the template when it is None, and API Gateway then uses 300."""
    config = authorizer.config
    ttl = config.ttl_seconds if config is not None else None
    return DEFAULT_TTL_SECONDS if ttl is None else ttl


class StrictAuthorizer(LocalGatewayAuthorizer):
    """Chalice's local authorizer with API Gateway's answers (see the module docstring) and its
    cache of custom authorizer results (`auth_cache`)."""

    def __init__(self, app_object: Chalice, verifier: Optional[CognitoVerifier], auth_cache: AuthCache) -> None:
        super().__init__(app_object)
        self._verifier = verifier
        self._cache = auth_cache

    def authorize(self, raw_path: str, lambda_event: Dict[str, Any],
                  lambda_context: LambdaContext) -> Any:
        route_entry = self._route_for_event(lambda_event)
        authorizer = route_entry.authorizer if route_entry else None
        if authorizer is None:
            return lambda_event, lambda_context
        token = _header(lambda_event.get("headers") or {}, "authorization")
        if isinstance(authorizer, CognitoUserPoolAuthorizer):
            return self._cognito(lambda_event, token, list(authorizer.scopes or [])), lambda_context
        if not token:
            raise unauthorized()  # API Gateway does not even invoke a TOKEN authorizer
        try:
            if not isinstance(authorizer, ChaliceAuthorizer):
                return super().authorize(raw_path, lambda_event, lambda_context)
            return self._custom(authorizer, raw_path, token, lambda_event, lambda_context), lambda_context
        except LocalGatewayException as exc:
            if exc.CODE == 403:
                raise GatewayError(403, "Forbidden", "User is not authorized to access this resource") from None
            if exc.CODE == 401:
                raise unauthorized() from None
            raise GatewayError(503, "AuthorizerFailure", "The authorizer failed; retry shortly.",
                               {"Retry-After": "1"}) from None
        except Exception as exc:  # noqa: BLE001 - exactly what API Gateway does with a failed authorizer
            if str(exc) == "Unauthorized":
                raise unauthorized() from None
            raise GatewayError(503, "AuthorizerFailure", "The authorizer failed; retry shortly.",
                               {"Retry-After": "1"}) from None

    def _custom(self, authorizer: ChaliceAuthorizer, raw_path: str, token: str, lambda_event: Dict[str, Any],
                lambda_context: LambdaContext) -> Dict[str, Any]:
        """Judge the request against the authorizer's result for this token: the cached one while
        its TTL runs, else a fresh one (then cached, unless the TTL is 0). The ARN, the policy
        match and the context handed to the view are Chalice's own (`LocalGatewayAuthorizer`).
        Only a returned result is cached: after an Unauthorized (401) or a failure (503) the next
        request invokes the authorizer again."""
        arn = self._arn_builder.build_arn(lambda_event["requestContext"]["httpMethod"], raw_path)
        ttl, key = _ttl(authorizer), cache_key(authorizer.name, token)
        result = self._cache.get(key) if ttl > 0 else None
        if result is None:
            invoke: Any = authorizer  # typed to take a dict context; Chalice itself passes a LambdaContext
            result = invoke(self._prepare_authorizer_event(arn, lambda_event, lambda_context), lambda_context)
            if result is None:
                raise InvalidAuthorizerError({}, b'{"message":null}')
            if ttl > 0:
                self._cache.put(key, result, ttl)
        if not self._check_can_invoke_view_function(arn, result):
            raise ForbiddenError({}, b"")
        return self._update_lambda_event(lambda_event, result)

    def _cognito(self, lambda_event: Dict[str, Any], token: Optional[str], scopes: List[str]) -> Dict[str, Any]:
        """API Gateway's COGNITO_USER_POOLS authorizer: without `scopes` the method takes a valid ID
        token only; with them, a valid access token that claims at least one of them. Anything else: 401."""
        if self._verifier is None:
            raise GatewayError(503, "AuthorizerFailure", "No Cognito verifier is configured.")
        try:
            if not scopes:
                identity = self._verifier.verify(token)  # ID tokens only (allow_access_tokens is off)
            else:
                identity = self._access_verifier().verify(token)
                granted = str(identity.claims.get("scope") or "").split()
                if identity.token_use != "access" or not set(granted) & set(scopes):  # noqa: S105 - a claim
                    raise TokenError("scope_not_granted")
        except KeysUnavailable:
            raise GatewayError(503, "AuthorizerFailure", "Signing keys are unavailable; retry shortly.",
                               {"Retry-After": "1"}) from None
        except TokenError:
            raise unauthorized() from None
        lambda_event["requestContext"]["authorizer"] = {"claims": dict(identity.claims)}
        return lambda_event

    def _access_verifier(self) -> CognitoVerifier:
        """The verifier for methods with scopes: the same pool, client and keys, access tokens allowed."""
        verifier = self._verifier
        if verifier is None:
            raise GatewayError(503, "AuthorizerFailure", "No Cognito verifier is configured.")
        return CognitoVerifier(verifier.issuer, verifier.client_id, allow_access_tokens=True,
                               leeway=verifier.leeway, keys=verifier.keys)


class StrictLocalGateway(LocalGateway):
    """`LocalGateway` with strict authorization and JSON errors. `handle_request` never raises."""

    def __init__(self, app_object: Chalice, config: Config, verifier: Optional[CognitoVerifier] = None,
                 auth_cache: Optional[AuthCache] = None) -> None:
        """`auth_cache`: where custom authorizer results are kept (the API server passes the one its
        workers share); by default this gateway's own."""
        super().__init__(app_object, config)
        cache = MemoryAuthCache() if auth_cache is None else auth_cache
        self._authorizer = StrictAuthorizer(app_object, verifier, cache)
        self._missing_token = missing_authentication_token(config.project_dir)

    def _declares(self, method: str, resource_path: str) -> bool:
        """Whether the REST API Chalice deploys has this method on this resource: the app's routes,
        plus OPTIONS where a route enables CORS (Chalice adds that method for it)."""
        views = self._app_object.routes.get(resource_path, {})
        if method in views:
            return True
        return method == "OPTIONS" and any(view.cors is not None for view in views.values())

    def _generate_lambda_event(self, method: str, path: str, headers: Dict[str, Any],
                               body: Optional[bytes]) -> Dict[str, Any]:
        try:
            event = super()._generate_lambda_event(method, path, headers, body)
        except ValueError:  # no route matches: API Gateway's MISSING_AUTHENTICATION_TOKEN, as deployed
            raise MissingAuthenticationToken() from None
        if not self._declares(method, event["requestContext"]["resourcePath"]):
            raise MissingAuthenticationToken()  # a method the API does not declare here: the same answer
        # API Gateway gives every request an id (the services' correlation id); Chalice's does not.
        event["requestContext"].setdefault("requestId", str(uuid.uuid4()))
        event["requestContext"].setdefault("stage", "api")
        return event

    def _generate_lambda_context(self) -> LambdaContext:
        return LambdaContext(
            function_name=self._config.function_name or "api_handler",
            memory_size=self._config.lambda_memory_size or 128,
            max_runtime_ms=int((self._config.lambda_timeout or 60) * 1000),
        )

    def handle_request(self, method: str, path: str, headers: Dict[str, Any],
                       body: Optional[bytes]) -> Dict[str, Any]:
        try:
            return super().handle_request(method, path, headers, body)
        except MissingAuthenticationToken:
            return self._missing_token.response(str(uuid.uuid4()))
        except GatewayError as exc:
            return exc.response()
        except LocalGatewayException as exc:
            return GatewayError(exc.CODE, "Forbidden" if exc.CODE == 403 else "Unauthorized",
                                "User is not authorized to access this resource"
                                if exc.CODE == 403 else "Unauthorized").response()
        except Exception:  # noqa: BLE001 - a crashed Lambda: API Gateway answers 502
            return GatewayError(502, "BadGateway", "Internal server error").response()


class StrictTestClient(Client):
    """`chalice.test.Client` whose HTTP client authorizes exactly as the local gateway does,
    with an authorizer cache of its own (or `auth_cache`, e.g. one on a fake clock)."""

    def __init__(self, app: Chalice, verifier: Optional[CognitoVerifier] = None,
                 stage_name: str = "local", project_dir: str = ".", auth_cache: Optional[AuthCache] = None) -> None:
        super().__init__(app, stage_name=stage_name, project_dir=project_dir)
        self._verifier = verifier
        self.auth_cache = MemoryAuthCache() if auth_cache is None else auth_cache

    @property
    def http(self) -> TestHTTPClient:
        if self._http_client is None:
            client = TestHTTPClient(self._app, self._chalice_config)
            strict = StrictLocalGateway(self._app, self._chalice_config, self._verifier, self.auth_cache)
            client._local_gateway = strict  # noqa: SLF001 - Chalice's test client has no hook for its gateway
            self._http_client = client
        return self._http_client
