"""A Unity editor stand-in for build tests: `python fakes/unity.py <Unity args>`.

It takes Unity's batch-mode arguments, prints log lines shaped like a real editor's, writes
a player at -customBuildPath and exits as SPARK's build method would. The behaviour (success,
compile_error, result_failed_exit0, canceled, hang, crash) comes from FAKE_UNITY_MODE, else
from the file `<projectPath>/.fake-unity-mode`; the pause after each line from
FAKE_UNITY_DELAY_S, else `<projectPath>/.fake-unity-delay`, else 0.02 s. When
FAKE_UNITY_RECORD names a file, a JSON line is appended to it at start and at exit. When
FAKE_UNITY_MANIFEST (else `<projectPath>/.fake-unity-manifest`) is 1, the log lists every
file under the project's Assets/ with its SHA-256, as `[FakeUnity] file <path> sha256=<hex>`,
so a test can see what the workspace held when Unity ran. When FAKE_UNITY_PLAYER_BYTES
(else `<projectPath>/.fake-unity-player-bytes`) gives a size, the player's main file (an
Android package whole) has exactly that many bytes, written a block at a time, so a test can
build a multi-GB player without holding it in memory. Each target's player has the shape
Unity gives it (fakes/unity_players.py). FAKE_UNITY_MODULES (else
`<projectPath>/.fake-unity-modules`; a comma list of targets, all 13 by default) is the
platform modules the editor has: a build for another target fails as Unity fails it, `Error
building player because build target was unsupported`.

On start-up, as Unity does, it imports every asset under Assets/ (the .meta files aside) whose
artifact Library/ lacks (fakes/unity_import.py): a `Start importing <path> using Guid(<hex>)`
line and a pause of FAKE_UNITY_IMPORT_S (else `<projectPath>/.fake-unity-import-s`, else
0.002 s) for each, then Unity's `Asset Pipeline Refresh (…): Total: <s> seconds` line and
`[FakeUnity] imported <N> of <M> assets`. Library/ keeps the artifacts, and databases and
compiled scripts sized by the project, so a build that starts from a cached Library/ imports
nothing and is measurably faster than a cold one.

Scripts are then compiled (fakes/unity_compile.py): a C# script under Assets/ holding
`FAKE_UNITY_COMPILE_ERROR` (in a comment, say) makes the log give `<path>(<line>,<col>): error
CS1029: …` for it and `Scripts have compiler errors.`; a compile-only run (no build or
test arguments) then exits 1, a build fails as compile_error mode fails it. A compile-only run
in success mode compiles, prints a warning and quits with 0; the other modes behave as
they do for a build.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

if __package__ in (None, ""):
    # Run as a script, as the launcher runs it: its sibling modules are imported as the fakes
    # package, from the repository root, as they are when this module is imported.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fakes.unity_compile import compile_step
from fakes.unity_import import DEFAULT_IMPORT_S, import_assets
from fakes.unity_players import ALL_TARGETS, write_player
from fakes.unity_tests import hostile_mode
from fakes.unity_tests import run as run_tests

MODES = ("success", "compile_error", "result_failed_exit0", "canceled", "hang", "crash")
COMPILE_ERROR = (
    "Assets/Scripts/Player.cs(12,5): error CS0103: "
    "The name 'speed' does not exist in the current context"
)
COMPILE_WARNING = (
    "Assets/Scripts/Enemy.cs(30,17): warning CS0414: "
    "The field 'Enemy.unused' is assigned but its value is never used"
)
SIGTERM_EXIT = 143
#: the editor version the stand-in says it is, unless FAKE_UNITY_VERSION says otherwise
VERSION = "2022.3.20f1"
#: in the argv of the helper process hang mode leaves behind, followed by the project path
HELPER_MARKER = "fake-unity-helper"

_STARTUP = (
    "[Licensing::Module] Successfully connected to LicensingClient on channel: LicenseClient-ci",
    "Initialize engine version: {version} (61c2feb0970d)",
    "[Subsystems] Discovering subsystems at path {project}/Assets",
    "Loading GUID <-> Path mappings...0.000412 seconds",
    "Refreshing native plugins compatible for Editor in 2.10 ms, found 3 plugins.",
)
_COMPILED = (
    "- Finished script compilation in 2.81 seconds",
    "Begin MonoManager ReloadAssembly",
    "- Completed reload, in  1.102 seconds",
)
_PLAYER = (
    "DisplayProgressbar: Building Player",
    "Building scene 0: Assets/Scenes/Main.unity",
    "Building scene 1: Assets/Scenes/Level1.unity",
    'Compiling shader "Universal Render Pipeline/Lit" pass "ForwardLit" (vp)',
    'Compiling shader "Universal Render Pipeline/Lit" pass "ForwardLit" (fp)',
    "Packaging assets - globalgamemanagers.assets",
    "Packaging assets - sharedassets0.assets",
    "Compressing build output",
)
_SHUTDOWN = (
    "Batchmode quit successfully invoked - shutting down!",
    "Exiting batchmode successfully now!",
)


def parse_args(argv: list[str]) -> dict[str, str]:
    """Unity-style `-name [value]` arguments, names lower-cased; flags map to ''."""
    parsed: dict[str, str] = {}
    for index, arg in enumerate(argv):
        if not arg.startswith("-") or len(arg) < 2:
            continue
        following = argv[index + 1] if index + 1 < len(argv) else None
        # `-logFile -` is the one place a lone dash is a value.
        has_value = following is not None and (following == "-" or not following.startswith("-"))
        parsed[arg[1:].lower()] = following if has_value and following is not None else ""
    return parsed


def write_launcher(directory: Path) -> Path:
    """An executable `Unity` in directory that runs this script with the current Python."""
    directory.mkdir(parents=True, exist_ok=True)
    launcher = directory / "Unity"
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(Path(__file__).resolve()))}"
    launcher.write_text(f'#!/bin/sh\nexec {command} "$@"\n', encoding="utf-8")
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return launcher


def results_block(result: str, errors: int, warnings: int, size: int) -> list[str]:
    """The summary block SPARK's build method prints, in GameCI's shape."""
    last = {"Succeeded": "Build succeeded!", "Failed": "Build failed!"}
    return [
        "###########################",
        "#      Build results      #",
        "###########################",
        f"Result: {result}",
        "Duration: 00:00:01.2345678",
        f"Warnings: {warnings}",
        f"Errors: {errors}",
        f"Size: {size} bytes",
        last.get(result, "Build cancelled!"),
    ]


class Log:
    """Writes log lines to stdout or the -logFile path, pausing after each one."""

    def __init__(self, log_file: str | None, delay: float) -> None:
        """A log on stdout for a missing or `-` path, otherwise on that file."""
        self.delay = delay
        self.stream: TextIO = sys.stdout
        if log_file and log_file != "-":
            Path(log_file).parent.mkdir(parents=True, exist_ok=True)
            self.stream = open(log_file, "w", encoding="utf-8")  # noqa: SIM115

    def __call__(self, *lines: str) -> None:
        """Writes and flushes each line, so readers see it as soon as it is written."""
        for line in lines:
            self.stream.write(line + "\n")
            self.stream.flush()
            if self.delay:
                time.sleep(self.delay)


def _build(args: dict[str, str], log: Log, outcome: str, player_bytes: int | None = None) -> int:
    """Prints the player build and its results block; the exit code SPARK's method would use."""
    target = args.get("custombuildtarget") or args.get("buildtarget") or "StandaloneWindows64"
    out = args.get("custombuildpath", "")
    if target not in installed_modules(args.get("projectpath", ".")):
        return _not_installed(log, target)
    signing = args.get("sparkandroidsigning")
    if target == "Android":
        log(f"[SparkBuilder] Android: {android_signer(signing)}")
    log(f"[SparkBuilder] Building {target} to {out} (development: {'development' in args})")
    log(*_PLAYER)
    if outcome == "Cancelled":
        log("Build Finished, Result: Cancelled.", *results_block(outcome, 0, 1, 0))
        return 102
    size = 0
    if out:
        size = write_player(
            target,
            Path(out),
            player_bytes,
            compression=args.get("webglcompression", "gzip"),
            signing=Path(signing) if signing else None,
        )
    log("Build Finished, Result: Success.", *results_block("Succeeded", 0, 1, size))
    return 0


def installed_modules(project: str) -> frozenset[str]:
    """The platform modules this editor has: FAKE_UNITY_MODULES (a comma list), else
    `<projectPath>/.fake-unity-modules`, else all 13."""
    listed = setting("FAKE_UNITY_MODULES", project, ".fake-unity-modules", ",".join(ALL_TARGETS))
    return frozenset(name.strip() for name in listed.split(",") if name.strip())


def _not_installed(log: Log, target: str) -> int:
    """A build for a target whose module is missing, as SparkBuilder and Unity report it."""
    log(
        f"[SparkBuilder] Build target {target} is not installed in this editor: "
        "add its module with Unity Hub"
    )
    log("Error building player because build target was unsupported")
    log("Build Finished, Result: Failed.", *results_block("Failed", 1, 0, 0))
    return 101


def android_signer(signing: str | None) -> str:
    """What signs an Android build: the laid-out keystore (named by path) or the debug key."""
    if not signing:
        return "no keystore given, signing with Unity's debug key"
    return (
        f"signing with the keystore laid out at {json.loads(Path(signing).read_text())['keystore']}"
    )


def _compile_error(log: Log) -> int:
    """A build that stops on a C# compiler error, as a build method that checks results does."""
    log(COMPILE_ERROR, *_COMPILED[:1], "Scripts have compiler errors.")
    log("Error building Player because scripts had compiler errors")
    log("Build Finished, Result: Failed.", *results_block("Failed", 1, 0, 0))
    return 101


def _result_failed_exit0(log: Log) -> int:
    """A failed build reported by a build method that ignores the report, so Unity exits 0."""
    log(COMPILE_WARNING, *_COMPILED, "DisplayProgressbar: Building Player")
    log("Building scene 0: Assets/Scenes/Main.unity")
    log("Error building Player: Missing Project ID in Player Settings")
    log("Build Finished, Result: Failed.", *_SHUTDOWN)
    return 0


def _hang(log: Log, project: str, job: str) -> int:
    """Never finishes; leaves a child process behind and exits 143 on SIGTERM."""
    sleeper = [sys.executable, "-c", "import time; time.sleep(1000)", HELPER_MARKER, project]
    child = subprocess.Popen(sleeper)
    log(f"Starting: UnityShaderCompiler (pid {child.pid})", *_COMPILED)
    log("DisplayProgressbar: Building Player")

    def on_term(signum: int, frame: object) -> None:
        # The child is left running, holding stdout open as Unity's helper processes do:
        # killing the whole process group is the caller's job.
        log.delay = 0
        log("Received SIGTERM, exiting batchmode")
        record("exit", job=job, code=SIGTERM_EXIT)
        os._exit(SIGTERM_EXIT)

    signal.signal(signal.SIGTERM, on_term)
    while True:
        time.sleep(3600)


def _crash(log: Log) -> int:
    """An editor crash: a native stack trace and exit 1, with no results block."""
    log(*_COMPILED, "DisplayProgressbar: Building Player")
    log("Received signal SIGSEGV", "Obtained 12 stack frames.", "#0  0x007f3a2c1b4e10 in (null)")
    return 1


def manifest(project: str) -> list[str]:
    """One `[FakeUnity] file <path> sha256=<hex>` line per file under the project's Assets/."""
    assets = Path(project) / "Assets"
    files = sorted(path for path in assets.rglob("*") if path.is_file())
    return [
        f"[FakeUnity] file {path.relative_to(project).as_posix()} "
        f"sha256={hashlib.sha256(path.read_bytes()).hexdigest()}"
        for path in files
    ]


def setting(env_name: str, project: str, file_name: str, default: str) -> str:
    """A setting from the environment, else from a file in the project, else the default."""
    if env_name in os.environ:
        return os.environ[env_name]
    try:
        return (Path(project) / file_name).read_text(encoding="utf-8").strip()
    except OSError:
        return default


def record(event: str, **fields: object) -> None:
    """Append one JSON line to FAKE_UNITY_RECORD, in one write so concurrent fakes never mix."""
    path = os.environ.get("FAKE_UNITY_RECORD")
    if path:
        line = json.dumps({"event": event, **fields, "time": time.time()}) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def _open_project(project: Path, log: Log) -> None:
    """The editor's start-up: licensing, the engine, the import of every asset Library/
    lacks (fakes/unity_import.py), then script compilation begins."""
    version = os.environ.get("FAKE_UNITY_VERSION", VERSION)
    log(*(line.format(project=project, version=version) for line in _STARTUP))
    default = str(DEFAULT_IMPORT_S)
    per_asset = float(setting("FAKE_UNITY_IMPORT_S", str(project), ".fake-unity-import-s", default))
    import_assets(project, log, per_asset)
    log("- Starting script compilation")


def main(argv: list[str]) -> int:
    """Runs the fake editor on Unity's command-line arguments; the process exit code."""
    args = parse_args(argv)
    if "version" in args:
        # `Unity -version` prints the editor's version and exits, as the real editor does.
        print(os.environ.get("FAKE_UNITY_VERSION", VERSION))
        return 0
    project, job = args.get("projectpath", "."), args.get("sparkjobid", "")
    mode = setting("FAKE_UNITY_MODE", project, ".fake-unity-mode", "success")
    if mode not in MODES:
        print(f"fake_unity: unknown mode {mode!r}", file=sys.stderr)
        return 2
    delay = float(setting("FAKE_UNITY_DELAY_S", project, ".fake-unity-delay", "0.02"))
    record("start", pid=os.getpid(), pgid=os.getpgrp(), job=job, project=project)
    log = Log(args.get("logfile"), delay)
    _open_project(Path(project), log)
    if setting("FAKE_UNITY_MANIFEST", project, ".fake-unity-manifest", "0") == "1":
        log(*manifest(project))
    sized = setting("FAKE_UNITY_PLAYER_BYTES", project, ".fake-unity-player-bytes", "")
    player_bytes = int(sized) if sized else None
    if (compiled := _compiled(args, Path(project), log, mode)) is not None:
        record("exit", job=job, code=compiled)
        return compiled
    handlers: dict[str, Callable[[], int]] = {
        # `-runTests` runs the project's tests instead of SPARK's build method.
        "success": lambda: (
            run_tests(args, log, hostile_mode(project))
            if "runtests" in args
            else _build(args, log, "Succeeded", player_bytes)
        ),
        "canceled": lambda: _build(args, log, "Cancelled"),
        "compile_error": lambda: _compile_error(log),
        "result_failed_exit0": lambda: _result_failed_exit0(log),
        "hang": lambda: _hang(log, project, job),
        "crash": lambda: _crash(log),
    }
    if mode in ("success", "canceled"):
        log(COMPILE_WARNING, *_COMPILED)
    code = handlers[mode]()
    if mode == "success":
        # EditorApplication.Exit with a failure code skips -quit's shutdown lines.
        log(*_SHUTDOWN)
    record("exit", job=job, code=code)
    return code


def _compiled(args: dict[str, str], project: Path, log: Log, mode: str) -> int | None:
    """The exit code when script compilation ends the run, else None (the other modes
    script their own compile)."""
    code = compile_step(args, project, log, _COMPILED) if mode == "success" else None
    if code == 0:
        log(*_SHUTDOWN)
    return code


def make_unity_project(
    root: Path, mode: str = "success", delay_s: float = 0.02, *, manifest: bool = False
) -> Path:
    """A minimal Unity project folder; the Unity stand-in reads its mode, its pace and whether
    to log the files under Assets/ from it."""
    (root / "Assets" / "Scenes").mkdir(parents=True, exist_ok=True)
    (root / "Assets" / "Scenes" / "Main.unity").write_text("%YAML 1.1\n", encoding="utf-8")
    (root / "ProjectSettings").mkdir(exist_ok=True)
    (root / "ProjectSettings" / "ProjectVersion.txt").write_text(
        "m_EditorVersion: 2022.3.20f1\n", encoding="utf-8"
    )
    (root / ".fake-unity-mode").write_text(mode, encoding="utf-8")
    (root / ".fake-unity-delay").write_text(str(delay_s), encoding="utf-8")
    if manifest:
        (root / ".fake-unity-manifest").write_text("1", encoding="utf-8")
    return root


def processes_mentioning(text: str) -> list[int]:
    """Live (non-zombie) processes whose command line contains text, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
