"""The players the Unity stand-in writes: each target's output in the shape Unity gives it.

A macOS player is a `.app` bundle; Windows and Linux players are an executable with its
`<name>_Data/` folder and Unity's runtime library beside it; iOS, tvOS and visionOS an Xcode
project; Android an `.apk` or `.aab` (a zip, signed with the project's key or Unity's debug
key); WebGL a site whose Build/ files carry the compression's extension; WSAPlayer a Visual
Studio solution; consoles the folder (Switch: the `.nsp`) their modules write.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import stat
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

#: every target a stand-in editor has a module for unless FAKE_UNITY_MODULES says otherwise
ALL_TARGETS = (
    "StandaloneOSX",
    "StandaloneWindows",
    "StandaloneWindows64",
    "StandaloneLinux64",
    "iOS",
    "Android",
    "WebGL",
    "WSAPlayer",
    "PS4",
    "XboxOne",
    "tvOS",
    "VisionOS",
    "Switch",
)
#: the alias of the debug keystore Unity signs with when a build names no keystore
DEBUG_ALIAS = "androiddebugkey"
#: the block a large player repeats: not all one byte, so a misplaced range shows
BLOCK = hashlib.sha256(b"spark").digest() * (1 << 15)
_EXECUTABLE = stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
_DATA = {"globalgamemanagers": "fake game managers\n", "level0": "fake level\n"}
_WEBGL_EXTENSIONS = {"gzip": ".gz", "brotli": ".br", "none": ""}


def write_player(
    target: str,
    path: Path,
    size: int | None = None,
    *,
    compression: str = "gzip",
    signing: Path | None = None,
) -> int:
    """The target's player at path, as Unity lays it out (an Android package's format is
    path's suffix); its size in bytes. size, when given, is the exact size of the player's
    main file (Android: the whole package); signing is the laid-out signing file."""
    writer = _WRITERS.get(target.lower(), _lone_file)
    writer(target, path, size, {"compression": compression}, signing)
    root = path if path.is_dir() else path.parent
    return sum(file.stat().st_size for file in root.rglob("*") if file.is_file())


def signature_name(alias: str) -> str:
    """The META-INF file name jarsigner gives an alias's signature: its first 8 characters,
    upper-cased, anything but letters, digits, `-` and `_` made `_`."""
    return re.sub(r"[^A-Z0-9_-]", "_", alias.upper()[:8])


def _files(root: Path, files: Mapping[str, str | bytes], executable: tuple[str, ...] = ()) -> None:
    """Write each relative path's content under root; the named ones executable."""
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        if relative in executable:
            target.chmod(_EXECUTABLE)


def _main_file(path: Path, content: bytes, size: int | None) -> None:
    """The player's main file: content, or exactly size bytes of the repeated block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if size is None:
        path.write_bytes(content)
        return
    with path.open("wb") as out:
        left = size
        while left > 0:
            out.write(BLOCK[: min(left, len(BLOCK))])
            left -= min(left, len(BLOCK))


def _data(prefix: str) -> dict[str, str]:
    """Unity's data files under prefix."""
    return {f"{prefix}/{name}": content for name, content in _DATA.items()}


Options = Mapping[str, str]


def _mac(target: str, path: Path, size: int | None, options: Options, _: Path | None) -> None:
    """`<name>.app`: Info.plist, the executable in Contents/MacOS, data in Resources."""
    name = path.stem
    _files(
        path,
        {
            "Contents/Info.plist": f"<plist><dict><key>CFBundleExecutable</key>"
            f"<string>{name}</string></dict></plist>\n",
            "Contents/Frameworks/UnityPlayer.dylib": b"\xcf\xfa\xed\xfe fake dylib\n",
            **_data("Contents/Resources/Data"),
        },
    )
    executable = path / "Contents" / "MacOS" / name
    _main_file(executable, b"\xcf\xfa\xed\xfe fake player for " + target.encode() + b"\n", size)
    executable.chmod(_EXECUTABLE)


def _windows(target: str, path: Path, size: int | None, options: Options, _: Path | None) -> None:
    """`<name>.exe` with `<name>_Data/`, `UnityPlayer.dll` and the crash handler beside it."""
    _main_file(path, b"MZ fake player for " + target.encode() + b"\n", size)
    _files(
        path.parent,
        {
            "UnityPlayer.dll": b"MZ fake UnityPlayer\n",
            "UnityCrashHandler64.exe": b"MZ fake crash handler\n",
            **_data(f"{path.stem}_Data"),
            f"{path.stem}_Data/Managed/Assembly-CSharp.dll": b"MZ fake assembly\n",
        },
    )


def _linux(target: str, path: Path, size: int | None, options: Options, _: Path | None) -> None:
    """`<name>.x86_64` (executable) with `<name>_Data/` and `UnityPlayer.so` beside it."""
    _main_file(path, b"\x7fELF fake player for " + target.encode() + b"\n", size)
    path.chmod(_EXECUTABLE)
    _files(
        path.parent, {"UnityPlayer.so": b"\x7fELF fake UnityPlayer\n", **_data(f"{path.stem}_Data")}
    )


def _xcode(target: str, path: Path, size: int | None, options: Options, _: Path | None) -> None:
    """An Xcode project folder: Unity-iPhone.xcodeproj (Unity-VisionOS for visionOS)."""
    project = "Unity-VisionOS" if target.lower() == "visionos" else "Unity-iPhone"
    _files(
        path,
        {
            f"{project}.xcodeproj/project.pbxproj": "// !$*UTF8*$!\n{ archiveVersion = 1; }\n",
            "Classes/main.mm": "int main(int argc, char* argv[]) { return 0; }\n",
            "Info.plist": "<plist><dict/></plist>\n",
            "Libraries/libiPhone-lib.a": "!<arch>\n",
            **_data("Data"),
        },
    )


def _android(
    target: str, path: Path, size: int | None, options: Options, signing: Path | None
) -> None:
    """An `.apk` or `.aab`: a zip with the manifest, dex and libraries, and a signature from
    the project's keystore (named by its alias, derived from its SHA-256) or Unity's debug key."""
    if size is not None:
        _main_file(path, b"", size)
        return
    bundle = path.suffix == ".aab"
    # An app bundle keeps each module under base/, its manifest and dex in folders of their own.
    base, manifest, dex = ("base/", "base/manifest/", "base/dex/") if bundle else ("", "", "")
    entries = {
        f"{manifest}AndroidManifest.xml": "<manifest package='com.spark.game'/>\n",
        f"{dex}classes.dex": "dex\n035\0 fake\n",
        f"{base}lib/arm64-v8a/libunity.so": "\x7fELF fake libunity\n",
        f"{base}assets/bin/Data/globalgamemanagers": _DATA["globalgamemanagers"],
    }
    if bundle:
        entries["BundleConfig.pb"] = "fake bundle config\n"
    else:
        entries["resources.arsc"] = "fake resources\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for name, content in {**entries, **_signature(signing)}.items():
            package.writestr(name, content)


def _signature(signing: Path | None) -> dict[str, str]:
    """META-INF entries for the signing file's keystore, or for Unity's debug key: they name
    the keystore by its SHA-256, never by its bytes or passwords."""
    if signing is None:
        alias, signer = DEBUG_ALIAS, "Unity's debug keystore (debug.keystore, androiddebugkey)"
    else:
        laid = json.loads(signing.read_text(encoding="utf-8"))
        digest = hashlib.sha256(Path(laid["keystore"]).read_bytes()).hexdigest()
        alias, signer = laid["key_alias"], f"keystore sha256={digest}"
    name = signature_name(alias)
    return {
        "META-INF/MANIFEST.MF": "Manifest-Version: 1.0\nCreated-By: SPARK Unity stand-in\n",
        f"META-INF/{name}.SF": f"Signature-Version: 1.0\nSigned-By: {signer}\nAlias: {alias}\n",
        f"META-INF/{name}.RSA": f"fake PKCS#7 signature by {signer}\n",
    }


def _webgl(target: str, path: Path, size: int | None, options: Options, _: Path | None) -> None:
    """index.html, TemplateData/ and Build/ with each file's compression extension."""
    name = path.name
    extension = _WEBGL_EXTENSIONS.get(options["compression"], ".gz")
    build: dict[str, str | bytes] = {f"Build/{name}.loader.js": "// fake loader\n"}
    for file_name, content in (
        (f"{name}.framework.js", b"// fake framework\n"),
        (f"{name}.wasm", b"\0asm fake\n"),
        (f"{name}.data", b"fake data\n"),
    ):
        packed = gzip.compress(content, mtime=0) if extension == ".gz" else content
        build[f"Build/{file_name}{extension}"] = packed
    _files(
        path,
        {
            "index.html": f"<!DOCTYPE html><html><body><script src='Build/{name}.loader.js'>"
            "</script></body></html>\n",
            "TemplateData/style.css": "body { margin: 0 }\n",
            **build,
        },
    )


def _wsa(target: str, path: Path, size: int | None, options: Options, _: Path | None) -> None:
    """A Visual Studio solution folder: `<name>.sln`, its project and Unity's data."""
    name = path.name
    _files(
        path,
        {
            f"{name}.sln": "Microsoft Visual Studio Solution File, Format Version 12.00\n",
            f"{name}/{name}.vcxproj": "<Project/>\n",
            f"{name}/Package.appxmanifest": "<Package/>\n",
            "Il2CppOutputProject/Il2CppOutputProject.vcxproj": "<Project/>\n",
            **_data("Build/Data"),
        },
    )


def _console(target: str, path: Path, size: int | None, options: Options, _: Path | None) -> None:
    """The folder a console module writes: its executable, data and the system files."""
    main = {"ps4": "eboot.bin", "xboxone": f"{path.name}.exe"}.get(target.lower(), "game.bin")
    system = {"ps4": "sce_sys/param.sfo", "xboxone": "AppxManifest.xml"}.get(
        target.lower(), "system.dat"
    )
    _main_file(path / main, b"fake player for " + target.encode() + b"\n", size)
    _files(path, {system: "fake system file\n", **_data("Media/Data")})


def _lone_file(target: str, path: Path, size: int | None, options: Options, _: Path | None) -> None:
    """One file (Switch's `.nsp`, and any target the stand-in has no layout for)."""
    _main_file(path, b"fake player for " + target.encode() + b"\n", size)


_Writer = Callable[[str, Path, int | None, Options, Path | None], None]
_WRITERS: dict[str, _Writer] = {
    "standaloneosx": _mac,
    "standalonewindows": _windows,
    "standalonewindows64": _windows,
    "standalonelinux64": _linux,
    "ios": _xcode,
    "tvos": _xcode,
    "visionos": _xcode,
    "android": _android,
    "webgl": _webgl,
    "wsaplayer": _wsa,
    "ps4": _console,
    "xboxone": _console,
    "switch": _lone_file,
}
