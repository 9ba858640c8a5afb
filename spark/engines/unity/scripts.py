"""The generate_script job: prompt → a syntax-checked Unity C# script."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

from spark.contracts.params import GenerateScriptParams
from spark.contracts.paths import MAX_CODE_BYTES
from spark.engines.unity.csharp import (
    Diagnostic,
    check_syntax,
    class_name_from_prompt,
    parse,
)
from spark.engines.unity.declarations import check_declaration
from spark.errors import JobFailure
from spark.llm.base import Generation, ScriptGenerator, ScriptRequest, TokenUsage

Report = Callable[[int, str], None]

#: share of the progress bar the generator's own progress covers
_GEN_START, _GEN_END = 10, 85


def _problems(code: str, request: ScriptRequest) -> tuple[Diagnostic, ...]:
    # one parse serves both checks: it is most of a generated script's checking time
    tree = parse(code)
    syntax = check_syntax(code, tree)
    if syntax:
        return syntax
    return check_declaration(code, request.class_name, request.namespace, request.base_class, tree)


def _merge_usage(first: Generation, second: Generation) -> Generation:
    """The repaired generation, charged for both calls."""
    tokens = TokenUsage(
        first.tokens.prompt + second.tokens.prompt,
        first.tokens.completion + second.tokens.completion,
    )
    return replace(second, tokens=tokens)


def _valid_generation(
    request: ScriptRequest, generator: ScriptGenerator, report: Report
) -> Generation:
    """A generation that parses and declares what was asked, after at most one repair."""

    def on_progress(fraction: float, message: str) -> None:
        report(_GEN_START + int((_GEN_END - _GEN_START) * fraction), message)

    generation = generator.generate(request, on_progress)
    report(_GEN_END, "checking C# syntax and declarations")
    problems = _problems(generation.code, request)
    if problems:
        # One repair round: the model sees its file and exactly what is wrong with it.
        report(_GEN_END, f"repairing {len(problems)} problem(s)")
        retry = replace(
            request,
            repair_of=generation.code,
            problems=tuple(f"line {d.line}, column {d.column}: {d.message}" for d in problems),
        )
        generation = _merge_usage(generation, generator.generate(retry, on_progress))
        problems = _problems(generation.code, request)
    if problems:
        first = problems[0]
        diagnostics = [asdict(d) for d in problems]
        raise JobFailure(
            "invalid_code",
            f"the generated script is invalid at line {first.line}, column {first.column}: "
            f"{first.message}",
            {"diagnostics": diagnostics},
            # The calls were made: their tokens are charged like a success's.
            result={**spent(generation), "diagnostics": diagnostics},
        )
    return generation


def spent(generation: Generation) -> dict[str, Any]:
    """Who generated, and the tokens it cost: recorded on the job whatever the outcome."""
    return {
        "provider": generation.provider,
        "model": generation.model,
        "tokens": {"prompt": generation.tokens.prompt, "completion": generation.tokens.completion},
    }


def generate_script(
    params: GenerateScriptParams, report: Report, generator: ScriptGenerator
) -> dict[str, Any]:
    """Write the script, check its syntax, and describe it as the job's result."""
    class_name = params.class_name or class_name_from_prompt(params.prompt)
    path = params.path or f"Assets/Scripts/{class_name}.cs"
    report(_GEN_START - 5, "preparing the prompt")
    request = ScriptRequest(
        prompt=params.prompt,
        class_name=class_name,
        base_class=params.base_class,
        namespace=params.namespace,
        include_comments=params.include_comments,
        reasoning=params.reasoning,
    )

    generation = _valid_generation(request, generator, report)
    if len(generation.code.encode()) > MAX_CODE_BYTES:
        message = "the generated script is over 200 KB"
        raise JobFailure("code_too_large", message, result=spent(generation))
    notes = [_note(note) for note in generation.notes]
    if notes:
        report(_GEN_END, notes[0]["message"])
    return {
        "path": path,
        "code": generation.code,
        "class_name": class_name,
        **spent(generation),
        "diagnostics": notes,
    }


def _note(message: str) -> dict[str, Any]:
    """A generator's note about the code as a diagnostic of the whole file."""
    return {"line": 1, "column": None, "message": message, "severity": "warning", **GENERATOR}


#: marks the diagnostics the generator itself gave: the code is not what was asked for
GENERATOR = {"source": "generator"}


def from_generator(result: dict[str, Any]) -> bool:
    """Whether the generator said its code is not what the request asked for."""
    return any(d.get("source") == GENERATOR["source"] for d in result["diagnostics"])
