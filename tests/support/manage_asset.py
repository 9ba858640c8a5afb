"""unity-mcp's ManageAsset.cs (the `manage_asset` command of the Unity plugin) for the Unity
Editor stand-in: the actions SPARK uses, get_info and delete, with the plugin's path handling
(AssetPathUtility.SanitizeAssetPath: separators made `/`, `Assets/` put in front when missing),
its existence check (a file, or a folder, under the project) and its messages. Any other
action of the plugin's list is answered as not supported here, so a test never passes on an
answer the real editor would not give.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.plugin_protocol import error, success, text_param
from tests.support.script_files import Wrote

#: ManageAsset.ValidActions
ACTIONS = (
    "import",
    "create",
    "modify",
    "delete",
    "duplicate",
    "move",
    "rename",
    "search",
    "get_info",
    "create_folder",
    "get_components",
)


def sanitize(path: str) -> str:
    """AssetPathUtility.SanitizeAssetPath."""
    path = path.replace("\\", "/").lstrip("/")
    return path if path.startswith("Assets/") or path == "Assets" else f"Assets/{path}"


class ManageAsset:
    """The manage_asset command over one project folder; wrote(path) is told of every asset
    deleted (the editor then imports the change and compiles)."""

    def __init__(self, project: Path, wrote: Wrote) -> None:
        self.project, self.wrote = project.resolve(), wrote

    def handle(self, params: dict[str, Any] | None) -> dict[str, Any]:
        action = (text_param(params or {}, "action") or "").lower()
        if not action:
            return error("Action parameter is required.")
        if action not in ACTIONS:
            return error(f"Unknown action: '{action}'. Valid actions are: {', '.join(ACTIONS)}")
        path = text_param(params or {}, "path")
        if not path:
            return error(f"'path' is required for {action}.")
        if action == "get_info":
            return self.get_info(sanitize(path))
        if action == "delete":
            return self.delete(sanitize(path))
        return error(f"the stand-in editor does not implement manage_asset {action}")

    def _full(self, asset: str) -> Path | None:
        """The asset's file or folder, when it exists inside the project."""
        full = (self.project / asset).resolve()
        inside = full == self.project or self.project in full.parents
        return full if inside and (full.is_file() or full.is_dir()) else None

    def get_info(self, asset: str) -> dict[str, Any]:
        full = self._full(asset)
        if full is None:
            return error(f"Asset not found at path: {asset}")
        modified = datetime.fromtimestamp(full.stat().st_mtime, UTC)
        data = {
            "path": asset,
            "guid": hashlib.md5(asset.encode()).hexdigest(),
            "assetType": "UnityEditor.DefaultAsset" if full.is_dir() else "UnityEngine.Object",
            "name": full.stem,
            "fileName": full.name,
            "isFolder": full.is_dir(),
            "lastWriteTimeUtc": modified.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z",
        }
        return success("Asset info retrieved.", data)

    def delete(self, asset: str) -> dict[str, Any]:
        full = self._full(asset)
        if full is None or full == self.project:
            return error(f"Asset not found at path: {asset}")
        # AssetDatabase.DeleteAsset removes the asset with its .meta (a folder with all in it).
        if full.is_dir():
            shutil.rmtree(full)
        else:
            full.unlink()
        full.with_name(full.name + ".meta").unlink(missing_ok=True)
        self.wrote(asset)
        return success(f"Asset '{asset}' deleted successfully.")
