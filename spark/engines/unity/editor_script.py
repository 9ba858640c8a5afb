"""The C# source of SPARK's Unity editor build method, shipped as a package data file."""

from __future__ import annotations

from pathlib import Path

#: Where the script goes in a Unity project; executeMethod needs it under an Editor folder.
PROJECT_PATH = "Assets/Editor/Spark/SparkBuilder.cs"
#: The value for Unity's -executeMethod argument.
BUILD_METHOD = "Spark.Editor.SparkBuilder.Build"
#: Exit codes the build method uses, as GameCI's default build method does.
EXIT_CODES = {0: "succeeded", 101: "failed", 102: "canceled", 103: "unknown"}

BUILDER_CS: str = (Path(__file__).parent / "editor" / "SparkBuilder.cs").read_text(encoding="utf-8")
