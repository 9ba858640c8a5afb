"""The offline planner maps plain requests to SPARK's tool calls, in the order asked, and
says what it did not understand instead of guessing."""

from __future__ import annotations

import json
from typing import Any

from spark.contracts.params import GenerateScriptParams
from spark.contracts.patch_params import RenderPreviewParams
from spark.llm.planner import OfflinePlanner, class_name_of, plan

SCENES = ["Assets/Scenes/Intro.unity", "Assets/Scenes/MainLevel.unity"]
TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {"name": name, "parameters": {}}}
    for name in ("generate_script", "render_preview", "unity_build", "read_file")
]


def kinds(text: str, scenes: list[str] | None = None) -> list[str]:
    return [name for name, _ in plan(text, scenes or [], has_project=True).calls]


def test_a_player_controller_request_is_one_script_written_to_the_project() -> None:
    planned = plan("make a player controller that jumps", SCENES, has_project=True)
    [(name, args)] = planned.calls
    assert name == "generate_script"
    assert args["class_name"] == "PlayerController"
    assert args["write_to_project"] is True
    assert "jumps" in args["prompt"]
    GenerateScriptParams.model_validate(args)  # what the tool call carries is valid params
    assert planned.not_understood == ()


def test_without_a_project_the_script_is_not_written_anywhere() -> None:
    [(_, args)] = plan("create an enemy spawner", [], has_project=False).calls
    assert "write_to_project" not in args


def test_preview_the_main_scene_picks_the_scene_named_like_main_else_the_first() -> None:
    [(name, args)] = plan("preview the main scene", SCENES).calls
    assert name == "render_preview"
    assert args["scene"] == "Assets/Scenes/MainLevel.unity"
    RenderPreviewParams.model_validate(args)
    [(_, named)] = plan("show me the intro scene", SCENES).calls
    assert named["scene"] == "Assets/Scenes/Intro.unity"
    [(_, first)] = plan("render a preview", ["Assets/A.unity", "Assets/B.unity"]).calls
    assert first["scene"] == "Assets/A.unity"
    [(_, none)] = plan("render a preview", []).calls
    assert "scene" not in none


def test_build_for_webgl_is_a_webgl_build_and_other_platforms_by_their_names() -> None:
    assert plan("build for WebGL").calls == (("unity_build", {"target": "WebGL"}),)
    assert plan("please build the game for Android").calls[0][1] == {"target": "Android"}
    assert plan("build it for windows").calls[0][1] == {"target": "StandaloneWindows64"}


def test_a_combined_request_plans_each_part_in_the_order_written() -> None:
    text = "make a player controller and show it in the main scene"
    assert kinds(text, SCENES) == ["generate_script", "render_preview"]
    assert kinds("build for linux, then preview the main scene", SCENES) == [
        "unity_build",
        "render_preview",
    ]


def test_a_behaviour_the_generator_knows_is_a_script_even_without_a_verb() -> None:
    [(name, args)] = plan("a lantern that flickers like a candle").calls
    assert (name, args["class_name"]) == ("generate_script", "Lantern")


def test_a_description_joined_by_and_stays_one_script() -> None:
    [(_, args)] = plan("make a door that opens and closes slowly").calls
    assert args["class_name"] == "Door"
    assert args["prompt"].endswith("and closes slowly")


def test_what_matches_no_rule_is_reported_not_guessed() -> None:
    planned = plan("sing me a song")
    assert planned.calls == ()
    assert planned.not_understood == ("sing me a song",)
    assert plan("build something nice").calls == ()  # a build with no platform named


def test_class_names_come_from_the_words_before_what_it_does() -> None:
    assert class_name_of("player controller that jumps") == "PlayerController"
    assert class_name_of("lantern which flickers") == "Lantern"
    assert class_name_of("that") == "GeneratedBehaviour"


def test_the_planner_calls_first_then_summarises_what_ran_and_what_it_missed() -> None:
    planner = OfflinePlanner(SCENES, has_project=True)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "you plan"},
        {"role": "user", "content": "sing a song, then make a player controller"},
    ]
    first = planner.chat(messages, TOOLS)
    assert first.text is None
    assert [call.name for call in first.calls] == ["generate_script"]
    messages.append({"role": "assistant", "content": None, "tool_calls": [{"id": "call_1"}]})
    outcome = {"tool": "generate_script", "status": "succeeded", "job_id": "j1", "summary": "wrote"}
    messages.append({"role": "tool", "tool_call_id": "call_1", "content": json.dumps(outcome)})
    second = planner.chat(messages, TOOLS)
    assert second.calls == ()
    assert second.text is not None
    assert "generate_script: succeeded (job j1): wrote" in second.text
    assert '"sing a song"' in second.text
    assert first.tokens.prompt == first.tokens.completion == 0


def test_a_request_it_cannot_plan_gets_an_answer_saying_so() -> None:
    turn = OfflinePlanner().chat([{"role": "user", "content": "what is love"}], TOOLS)
    assert turn.calls == ()
    assert turn.text is not None and "did not understand" in turn.text
