"""Params of the `apply_preset` job: which game template to write, and its namespace."""

from __future__ import annotations

from typing import Literal

from spark.contracts.params import Namespace, Verifiable

#: the game templates a client can ask for (CONTRACT §5)
PresetId = Literal["2d-platformer", "top-down-action", "visual-novel"]


class ApplyPresetParams(Verifiable):
    """`apply_preset`: write a game template's scripts into a project."""

    preset_id: PresetId
    namespace: Namespace | None = None
