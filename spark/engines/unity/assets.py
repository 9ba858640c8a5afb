"""The generate_asset job: Unity prefab and material YAML, each with its .meta file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from spark.contracts.asset_params import ComponentKind, GenerateAssetParams, ShaderName
from spark.contracts.paths import MAX_CODE_BYTES
from spark.engines.unity.unity_yaml import (
    BUILTIN_DEFAULT_GUID,
    BUILTIN_EXTRA_GUID,
    NULL,
    Ref,
    Value,
    check_guid,
    document,
    meta_file,
    meta_for_path,
    stable_file_ids,
    stable_guid,
    unity_file,
    vec,
)
from spark.errors import JobFailure

__all__ = [
    "COMPONENT_KINDS",
    "MATERIAL_FILE_ID",
    "ComponentSpec",
    "generate_asset",
    "material_yaml",
    "meta_file",
    "prefab_yaml",
    "stable_guid",
]

Report = Callable[[int, str], None]
Color = tuple[float, float, float, float]

COMPONENT_KINDS: tuple[ComponentKind, ...] = get_args(ComponentKind)
#: a material file's one object, `--- !u!21 &2100000`; references to it use this fileID
MATERIAL_FILE_ID = 2100000
RENDERERS: frozenset[ComponentKind] = frozenset({"MeshRenderer", "SpriteRenderer"})

# Built-in resources (reference/unity.md §4; shader ids from AssetRipper's table of
# built-in assets, EngineBuiltInAssets.cs; the rest as Unity writes them in prefabs).
SHADERS: dict[ShaderName, Ref] = {
    "Standard": Ref(46, BUILTIN_EXTRA_GUID, 0),
    "Sprites/Default": Ref(10753, BUILTIN_EXTRA_GUID, 0),
    "Unlit/Color": Ref(10755, BUILTIN_EXTRA_GUID, 0),
}
DEFAULT_MATERIAL = Ref(10303, BUILTIN_EXTRA_GUID, 0)
SPRITES_DEFAULT_MATERIAL = Ref(10754, BUILTIN_EXTRA_GUID, 0)
CUBE_MESH = Ref(10202, BUILTIN_DEFAULT_GUID, 0)


@dataclass(frozen=True)
class ComponentSpec:
    """One component on a prefab's root GameObject; a renderer may name its material's GUID."""

    kind: ComponentKind
    material_guid: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _COMPONENTS:
            raise ValueError(f"unknown component {self.kind!r}")
        if self.material_guid is not None:
            check_guid(self.material_guid)
            if self.kind not in RENDERERS:
                raise ValueError(f"{self.kind} takes no material")


def _object_fields() -> dict[str, Value]:
    """The fields every object in a prefab or material file starts with."""
    return {
        "m_ObjectHideFlags": 0,
        "m_CorrespondingSourceObject": NULL,
        "m_PrefabInstance": NULL,
        "m_PrefabAsset": NULL,
    }


def _game_object(name: str, component_ids: Sequence[int]) -> dict[str, Value]:
    """The root GameObject, listing its components (the Transform first) by fileID."""
    return {
        **_object_fields(),
        "serializedVersion": 6,
        "m_Component": [{"component": Ref(file_id)} for file_id in component_ids],
        "m_Layer": 0,
        "m_Name": name,
        "m_TagString": "Untagged",
        "m_Icon": NULL,
        "m_NavMeshLayer": 0,
        "m_StaticEditorFlags": 0,
        "m_IsActive": 1,
    }


def _transform() -> dict[str, Value]:
    """A root Transform at the origin, unrotated, unit scale, without children."""
    return {
        "serializedVersion": 2,
        "m_LocalRotation": vec(x=0, y=0, z=0, w=1),
        "m_LocalPosition": vec(x=0, y=0, z=0),
        "m_LocalScale": vec(x=1, y=1, z=1),
        "m_ConstrainProportionsScale": 0,
        "m_Children": [],
        "m_Father": NULL,
        "m_LocalEulerAnglesHint": vec(x=0, y=0, z=0),
    }


def _renderer(material: Ref, *, lit: bool) -> dict[str, Value]:
    """The fields MeshRenderer and SpriteRenderer share, with one material slot."""
    return {
        "m_Enabled": 1,
        "m_CastShadows": int(lit),
        "m_ReceiveShadows": int(lit),
        "m_DynamicOccludee": 1,
        "m_StaticShadowCaster": 0,
        "m_MotionVectors": 1,
        "m_LightProbeUsage": 1,
        "m_ReflectionProbeUsage": 1,
        "m_RayTracingMode": 2 if lit else 0,
        "m_RayTraceProcedural": 0,
        "m_RenderingLayerMask": 1,
        "m_RendererPriority": 0,
        "m_Materials": [material],
        "m_StaticBatchInfo": {"firstSubMesh": 0, "subMeshCount": 0},
        "m_StaticBatchRoot": NULL,
        "m_ProbeAnchor": NULL,
        "m_LightProbeVolumeOverride": NULL,
        "m_ScaleInLightmap": 1,
        "m_ReceiveGI": 1,
        "m_PreserveUVs": 0,
        "m_IgnoreNormalsForChartDetection": 0,
        "m_ImportantGI": 0,
        "m_StitchLightmapSeams": 1,
        "m_SelectedEditorRenderState": 3 if lit else 0,
        "m_MinimumChartSize": 4,
        "m_AutoUVMaxDistance": 0.5,
        "m_AutoUVMaxAngle": 89,
        "m_LightmapParameters": NULL,
        "m_SortingLayerID": 0,
        "m_SortingLayer": 0,
        "m_SortingOrder": 0,
    }


def _material_ref(guid: str | None, default: Ref) -> Ref:
    """A reference to the material file with guid, or to a built-in default material."""
    return default if guid is None else Ref(MATERIAL_FILE_ID, guid, 2)


def _mesh_renderer(spec: ComponentSpec) -> dict[str, Value]:
    """A MeshRenderer drawing with the given material, else Unity's Default-Material."""
    material = _material_ref(spec.material_guid, DEFAULT_MATERIAL)
    return {**_renderer(material, lit=True), "m_AdditionalVertexStreams": NULL}


def _sprite_renderer(spec: ComponentSpec) -> dict[str, Value]:
    """A SpriteRenderer without a sprite yet, drawing with the given or Sprites-Default material."""
    material = _material_ref(spec.material_guid, SPRITES_DEFAULT_MATERIAL)
    return {
        **_renderer(material, lit=False),
        "m_Sprite": NULL,
        "m_Color": vec(r=1, g=1, b=1, a=1),
        "m_FlipX": 0,
        "m_FlipY": 0,
        "m_DrawMode": 0,
        "m_Size": vec(x=1, y=1),
        "m_AdaptiveModeThreshold": 0.5,
        "m_SpriteTileMode": 0,
        "m_WasSpriteAssigned": 0,
        "m_MaskInteraction": 0,
        "m_SpriteSortPoint": 0,
    }


def _box_collider(_: ComponentSpec) -> dict[str, Value]:
    """A unit BoxCollider centred on the object."""
    return {
        "m_Material": NULL,
        "m_IsTrigger": 0,
        "m_Enabled": 1,
        "serializedVersion": 2,
        "m_Size": vec(x=1, y=1, z=1),
        "m_Center": vec(x=0, y=0, z=0),
    }


def _rigidbody(_: ComponentSpec) -> dict[str, Value]:
    """A 1 kg dynamic Rigidbody under gravity."""
    return {
        "serializedVersion": 2,
        "m_Mass": 1,
        "m_Drag": 0,
        "m_AngularDrag": 0.05,
        "m_UseGravity": 1,
        "m_IsKinematic": 0,
        "m_Interpolate": 0,
        "m_Constraints": 0,
        "m_CollisionDetection": 0,
    }


def _mesh_filter(_: ComponentSpec) -> dict[str, Value]:
    """A MeshFilter with Unity's built-in cube, so a MeshRenderer shows something at once."""
    return {"m_Mesh": CUBE_MESH}


def _box_collider_2d(_: ComponentSpec) -> dict[str, Value]:
    """A unit BoxCollider2D centred on the object."""
    return {
        "m_Enabled": 1,
        "m_Density": 1,
        "m_Material": NULL,
        "m_IsTrigger": 0,
        "m_UsedByEffector": 0,
        "m_UsedByComposite": 0,
        "m_Offset": vec(x=0, y=0),
        "m_AutoTiling": 0,
        "serializedVersion": 2,
        "m_Size": vec(x=1, y=1),
        "m_EdgeRadius": 0,
    }


def _rigidbody_2d(_: ComponentSpec) -> dict[str, Value]:
    """A 1 kg dynamic Rigidbody2D with gravity scale 1."""
    return {
        "serializedVersion": 4,
        "m_BodyType": 0,
        "m_Simulated": 1,
        "m_UseFullKinematicContacts": 0,
        "m_UseAutoMass": 0,
        "m_Mass": 1,
        "m_LinearDrag": 0,
        "m_AngularDrag": 0.05,
        "m_GravityScale": 1,
        "m_Material": NULL,
        "m_Interpolate": 0,
        "m_SleepingMode": 1,
        "m_CollisionDetection": 0,
        "m_Constraints": 0,
    }


# classID (reference/unity.md §4; 2D classes from Unity's YAML class ID reference) and fields
_COMPONENTS: dict[ComponentKind, tuple[int, Callable[[ComponentSpec], dict[str, Value]]]] = {
    "BoxCollider": (65, _box_collider),
    "Rigidbody": (54, _rigidbody),
    "MeshFilter": (33, _mesh_filter),
    "MeshRenderer": (23, _mesh_renderer),
    "SpriteRenderer": (212, _sprite_renderer),
    "BoxCollider2D": (61, _box_collider_2d),
    "Rigidbody2D": (50, _rigidbody_2d),
}


def prefab_yaml(name: str, components: Sequence[ComponentSpec], *, seed: str | None = None) -> str:
    """A prefab: one GameObject with a Transform and the components, fileIDs stable per seed."""
    labels = ["GameObject", "Transform", *(f"{i}:{c.kind}" for i, c in enumerate(components))]
    go_id, transform_id, *component_ids = stable_file_ids(seed or name, labels)
    owner = {**_object_fields(), "m_GameObject": Ref(go_id)}
    docs = [
        document(1, go_id, "GameObject", _game_object(name, [transform_id, *component_ids])),
        document(4, transform_id, "Transform", {**owner, **_transform()}),
    ]
    for spec, file_id in zip(components, component_ids, strict=True):
        class_id, fields = _COMPONENTS[spec.kind]
        docs.append(document(class_id, file_id, spec.kind, {**owner, **fields(spec)}))
    return unity_file(docs)


# fmt: off
_STANDARD_TEXTURES = (
    "_BumpMap", "_DetailAlbedoMap", "_DetailMask", "_DetailNormalMap", "_EmissionMap",
    "_MainTex", "_MetallicGlossMap", "_OcclusionMap", "_ParallaxMap",
)
# fmt: on
_STANDARD_FLOATS: dict[str, float] = {
    "_BumpScale": 1,
    "_Cutoff": 0.5,
    "_DetailNormalMapScale": 1,
    "_DstBlend": 0,
    "_GlossMapScale": 1,
    "_GlossyReflections": 1,
    "_Mode": 0,
    "_OcclusionStrength": 1,
    "_Parallax": 0.02,
    "_SmoothnessTextureChannel": 0,
    "_SpecularHighlights": 1,
    "_SrcBlend": 1,
    "_UVSec": 0,
    "_ZWrite": 1,
}
_WHITE: Color = (1.0, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class _ShaderProperties:
    """The texture slots, floats and colours a shader's material saves."""

    textures: tuple[str, ...]
    floats: dict[str, float]
    colors: dict[str, Color]


def _shader_properties(
    shader: ShaderName, color: Color, metallic: float, smoothness: float
) -> _ShaderProperties:
    """What the editor saves for a fresh material on shader, with the colour and surface set."""
    if shader == "Sprites/Default":
        floats = {"PixelSnap": 0.0, "_EnableExternalAlpha": 0.0}
        colors = {"_Color": color, "_Flip": _WHITE, "_RendererColor": _WHITE}
        return _ShaderProperties(("_AlphaTex", "_MainTex"), floats, colors)
    if shader == "Unlit/Color":
        return _ShaderProperties((), {}, {"_Color": color})
    floats = {**_STANDARD_FLOATS, "_Glossiness": smoothness, "_Metallic": metallic}
    colors = {"_Color": color, "_EmissionColor": (0.0, 0.0, 0.0, 1.0)}
    return _ShaderProperties(_STANDARD_TEXTURES, floats, colors)


def _saved_properties(props: _ShaderProperties) -> dict[str, Value]:
    """m_SavedProperties, each list sorted by name as the editor writes it."""
    slot: dict[str, Value] = {
        "m_Texture": NULL,
        "m_Scale": vec(x=1, y=1),
        "m_Offset": vec(x=0, y=0),
    }
    return {
        "serializedVersion": 3,
        "m_TexEnvs": [{name: slot} for name in sorted(props.textures)],
        "m_Ints": [],
        "m_Floats": [{name: props.floats[name]} for name in sorted(props.floats)],
        "m_Colors": [{name: _rgba(props.colors[name])} for name in sorted(props.colors)],
    }


def _rgba(color: Color) -> Value:
    """A colour as a flow mapping."""
    r, g, b, a = color
    return vec(r=r, g=g, b=b, a=a)


def material_yaml(
    name: str,
    shader: ShaderName,
    color: Color,
    *,
    metallic: float = 0.0,
    smoothness: float = 0.5,
) -> str:
    """A material (`--- !u!21 &2100000`) on a built-in shader with its colour and surface."""
    if shader not in SHADERS:
        raise ValueError(f"unknown shader {shader!r}; known: {', '.join(SHADERS)}")
    body: dict[str, Value] = {
        "serializedVersion": 8,
        **_object_fields(),
        "m_Name": name,
        "m_Shader": SHADERS[shader],
        "m_ValidKeywords": [],
        "m_InvalidKeywords": [],
        "m_LightmapFlags": 4,
        "m_EnableInstancingVariants": 0,
        "m_DoubleSidedGI": 0,
        "m_CustomRenderQueue": -1,
        "stringTagMap": {},
        "disabledShaderPasses": [],
        "m_SavedProperties": _saved_properties(
            _shader_properties(shader, color, metallic, smoothness)
        ),
        "m_BuildTextureStacks": [],
    }
    return unity_file([document(21, MATERIAL_FILE_ID, "Material", body)])


def _asset_yaml(params: GenerateAssetParams) -> str:
    """The asset file's text for the params' asset type."""
    if params.asset_type == "prefab":
        specs = [
            ComponentSpec(kind, params.material_guid if kind in RENDERERS else None)
            for kind in params.components
        ]
        # Seeding fileIDs with the path keeps them stable when the same asset is regenerated.
        return prefab_yaml(params.name, specs, seed=params.path)
    return material_yaml(
        params.name,
        params.shader,
        params.color,
        metallic=params.metallic,
        smoothness=params.smoothness,
    )


def generate_asset(
    params: GenerateAssetParams, report: Report, guid: str | None = None
) -> dict[str, Any]:
    """Write the asset and its .meta (with guid, else one stable per path), and describe
    both as the job's result."""
    report(10, f"writing {params.asset_type} {params.name}")
    content = _asset_yaml(params)
    if len(content.encode()) > MAX_CODE_BYTES:
        raise JobFailure("asset_too_large", "the generated asset is over 200 KB")
    report(70, "writing the .meta file")
    # Without a GUID already in use, one from the path alone: regenerating keeps references.
    guid = check_guid(guid) if guid is not None else stable_guid(params.path)
    meta = meta_for_path(params.path, guid)
    report(90, "asset ready")
    return {
        "asset_type": params.asset_type,
        "path": params.path,
        "guid": guid,
        "files": [
            {"path": params.path, "content": content},
            {"path": f"{params.path}.meta", "content": meta},
        ],
    }
