"""The generate_script job: prompt → a syntax-checked Unity C# script."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spark.contracts.params import GenerateScriptParams
from spark.engines.unity.csharp import check_syntax, class_name_from_prompt
from spark.errors import JobFailure
from spark.llm.base import ScriptGenerator, ScriptRequest

Report = Callable[[int, str], None]

#: share of the progress bar the generator's own progress covers
_GEN_START, _GEN_END = 10, 85


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

    def on_progress(fraction: float, message: str) -> None:
        report(_GEN_START + int((_GEN_END - _GEN_START) * fraction), message)

    generation = generator.generate(request, on_progress)
    report(_GEN_END + 5, "checking C# syntax")
    diagnostics = check_syntax(generation.code)
    if diagnostics:
        raise JobFailure(
            "invalid_code",
            "the generated script does not parse as C#",
            {"diagnostics": [d.__dict__ for d in diagnostics]},
        )
    if len(generation.code.encode()) > 200 * 1024:
        raise JobFailure("code_too_large", "the generated script is over 200 KB")
    return {
        "path": path,
        "code": generation.code,
        "class_name": class_name,
        "provider": generation.provider,
        "model": generation.model,
        "tokens": {"prompt": generation.tokens.prompt, "completion": generation.tokens.completion},
        "diagnostics": [],
    }
