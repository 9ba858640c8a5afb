"""How the unity-mcp plugin's commands read their parameters and shape their answers, shared by
every command of the Unity Editor stand-in (editor_commands.py, manage_script.py) so that each
answers as the plugin does: ToolParams' key lookup, ParamCoercion's booleans, and the response
objects {success: true, message, data} (SuccessResponse) or {success: false, code, error, data}
(ErrorResponse, whose code and error are the same string).
"""

from __future__ import annotations

import re
from typing import Any


def success(message: str | None, data: Any = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"success": True, "message": message}
    if data is not None:
        answer["data"] = data
    return answer


def error(message_or_code: str, data: Any = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"success": False, "code": message_or_code, "error": message_or_code}
    if data is not None:
        answer["data"] = data
    return answer


def param(params: dict[str, Any], key: str) -> Any:
    """ToolParams.GetToken: the key as given, then its snake_case, then its camelCase."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()
    camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
    for k in (key, snake, camel):
        if params.get(k) is not None:
            return params[k]
    return None


def text_param(params: dict[str, Any], key: str) -> str | None:
    value = param(params, key)
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    return value if isinstance(value, str) else str(value)


def bool_param(params: dict[str, Any], key: str, default: bool = False) -> bool:
    """ParamCoercion.CoerceBool."""
    value = param(params, key)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
    return default
