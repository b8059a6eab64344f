"""The answers API Gateway gives itself, as the deployed stack configures them: read from the app's
CloudFormation merge template (deploy/aws/<app>/template.json, `RestAPI.Properties.GatewayResponses`),
never restated here, so the local gateway answers what the deployed API answers.

`missing_authentication_token(project_dir)` is what API Gateway answers a method or path the REST API
does not declare (TRACE, PATCH or OPTIONS on a route without them, an unknown path): its
MISSING_AUTHENTICATION_TOKEN gateway response, status, body and headers as the template sets them
(ours: a JSON 404 `NotFound`). For a Chalice project that is not one of ours (a test's app) it is API
Gateway's own default: 403 `{"message":"Missing Authentication Token"}`.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

from deploy.project import APPS

MISSING_AUTHENTICATION_TOKEN = "MISSING_AUTHENTICATION_TOKEN"  # noqa: S105 - a gateway response type
MESSAGES = {MISSING_AUTHENTICATION_TOKEN: "Missing Authentication Token"}  # $context.error.message
DEFAULTS = {MISSING_AUTHENTICATION_TOKEN: 403}                            # API Gateway's, unconfigured


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    body: str
    headers: Dict[str, str] = field(default_factory=dict)

    def response(self, request_id: str = "") -> Dict[str, Any]:
        """As a Lambda proxy response (what the local gateway hands its HTTP server)."""
        headers = {"Content-Type": "application/json", **self.headers}
        if request_id:
            headers["x-amzn-RequestId"] = request_id
        return {"statusCode": self.status, "headers": headers, "multiValueHeaders": {}, "body": self.body}


def merge_template(project_dir: Optional[str]) -> Optional[Path]:
    """The merge template of the app whose Chalice project is `project_dir`, if it is one of ours."""
    if not project_dir:
        return None
    where = Path(project_dir).resolve()
    for app in APPS:
        if app.path.resolve() == where:
            return app.template
    return None


def gateway_response(project_dir: Optional[str], kind: str) -> GatewayResponse:
    """`kind` (e.g. MISSING_AUTHENTICATION_TOKEN) as the app's template configures it; API Gateway's
    default when the project is not ours or its template does not configure this kind."""
    message = MESSAGES.get(kind, kind)
    default = GatewayResponse(DEFAULTS.get(kind, 403), json.dumps({"message": message}, separators=(",", ":")))
    template = merge_template(project_dir)
    if template is None:
        return default
    resources = json.loads(template.read_text())["Resources"]
    configured = resources["RestAPI"]["Properties"].get("GatewayResponses", {}).get(kind)
    if configured is None:
        return default
    body = configured.get("ResponseTemplates", {}).get("application/json", default.body)
    body = body.replace("$context.error.messageString", json.dumps(message)).replace(
        "$context.error.message", message)
    headers = {name: _literal(value) for name, value in
               configured.get("ResponseParameters", {}).get("Headers", {}).items()}
    return GatewayResponse(int(configured.get("StatusCode", default.status)), body, headers)


def missing_authentication_token(project_dir: Optional[str]) -> GatewayResponse:
    return gateway_response(project_dir, MISSING_AUTHENTICATION_TOKEN)


def _literal(value: str) -> str:
    """A gateway response header value: a static value is quoted ('1'); anything else is kept as written."""
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == "'" else value
