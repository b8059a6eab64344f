"""The user document: declared once in render.py, rendered in that order, described by the same
declaration in the committed OpenAPI document."""
import json
from datetime import datetime, timezone
from typing import Any

from deploy.project import ROOT


def test_known_fields_first_in_declared_order_then_the_others_as_stored(mod: Any) -> None:
    stored = {"zeta": 1, "timestamp": "t", "alpha": 2, "name": "N", "userid": "u", "createdAt": "c"}
    rendered = mod.render.user(stored)
    assert list(rendered) == ["userid", "name", "createdAt", "timestamp", "zeta", "alpha"]
    assert rendered == stored


def test_the_openapi_user_schema_is_the_render_declaration(mod: Any) -> None:
    document = json.loads((ROOT / "users_app" / "openapi.json").read_text())
    assert document["components"]["schemas"]["User"] == mod.render.USER.json_schema()
    assert list(mod.render.USER.properties) == ["userid", "name", "email", "createdAt", "updatedAt", "timestamp"]


def test_times_are_utc_with_microseconds(mod: Any) -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    assert mod.models.format_time(moment) == "2026-01-02T03:04:05.000006+00:00"
