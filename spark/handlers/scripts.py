"""`generate_script`: an LLM (or the offline generator) writes a Unity C# script, and with
`write_to_project` the script becomes the next version of its path in the project."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spark.contracts.params import GenerateScriptParams
from spark.engines.unity import scripts
from spark.errors import JobFailure
from spark.handlers.writing import write_files
from spark.jobs.calls import RecordingGenerator
from spark.jobs.runner import JobContext


def generate_script(ctx: JobContext) -> Mapping[str, Any]:
    """Write the script the prompt asks for, checked for syntax and declarations."""
    params = GenerateScriptParams.model_validate(ctx.job.params)
    tools = ctx.need_tools()
    # Each call the generator makes (a repair round too) is on record as it ends.
    generator = RecordingGenerator(tools.generator, ctx)
    result = scripts.generate_script(params, ctx.report, generator)
    if not params.write_to_project:
        return result
    if scripts.from_generator(result):
        # The code is not what was asked for: written, it would replace the path's file.
        unwritten = {**result["diagnostics"][0], "message": f"{result['path']} was not written"}
        return {**result, "diagnostics": [*result["diagnostics"], unwritten]}
    if ctx.job.project_id is None:  # the API refuses such a submission
        message = "write_to_project needs the project to write into"
        spent = {key: result[key] for key in ("provider", "model", "tokens")}
        raise JobFailure("invalid_params", message, result=spent)
    path, code = result["path"], result["code"]
    message = f"generate_script {result['class_name']}"
    writes = write_files(ctx, ctx.job.project_id, [(path, code.encode())], message)
    (written,) = writes["written"]
    ctx.report(95, f"wrote {path} version {written['version']}")
    merged = {**result, "version": written["version"], "sha256": written["sha256"]}
    if "editor" not in writes:
        return merged
    editor = writes["editor"]
    # The editor's compiler errors about the script are the script's diagnostics too.
    found = [{**d, "column": None, "source": "editor"} for d in editor["diagnostics"]]
    return {**merged, "diagnostics": [*result["diagnostics"], *found], "editor": editor}
