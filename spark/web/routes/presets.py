"""GET /v1/presets and /v1/presets/{id}: the game templates apply_preset writes."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from spark.engines.unity.presets import PRESETS, get_preset, preset_detail, preset_summary
from spark.web.routing import ApiRoute


async def list_presets(request: Request) -> Response:
    """Every preset, without file contents."""
    body = {"items": [preset_summary(p) for p in PRESETS.values()]}
    return Response(json.dumps(body), media_type="application/json")


async def show_preset(request: Request) -> Response:
    """One preset with its files' contents; 404 for an unknown id."""
    preset = get_preset(request.path_params["preset_id"])
    return Response(json.dumps(preset_detail(preset)), media_type="application/json")


routes = [
    ApiRoute("/v1/presets", list_presets, method="GET"),
    ApiRoute("/v1/presets/{preset_id}", show_preset, method="GET"),
]
