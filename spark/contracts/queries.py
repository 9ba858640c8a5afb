"""What every route's query string means alike."""

from __future__ import annotations

from typing import Any

from pydantic import BeforeValidator


def blank_to_none(value: Any) -> Any:
    """An empty value (`?kind=`) is a filter not given, as forms and scripts send it."""
    return None if value == "" else value


#: Annotated[T | None, BLANK_IS_NONE]: a query parameter whose empty value means "not given"
BLANK_IS_NONE = BeforeValidator(blank_to_none)
