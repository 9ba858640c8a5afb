"""Which job kinds this server accepts and their params model (permissions: spark/security)."""

from __future__ import annotations

from collections.abc import Mapping

from spark.contracts.asset_params import ExportPackageParams, GenerateAssetParams
from spark.contracts.build_params import UnityBuildParams
from spark.contracts.params import GenerateScriptParams, Params
from spark.contracts.preset_params import ApplyPresetParams
from spark.domain.jobs import JobKind

#: kinds this server accepts, and their params; the others arrive with later capabilities
PARAMS_BY_KIND: Mapping[JobKind, type[Params]] = {
    JobKind.GENERATE_SCRIPT: GenerateScriptParams,
    JobKind.APPLY_PRESET: ApplyPresetParams,
    JobKind.GENERATE_ASSET: GenerateAssetParams,
    JobKind.EXPORT_PACKAGE: ExportPackageParams,
    JobKind.UNITY_BUILD: UnityBuildParams,
}

#: kinds that act on a registered project, so a submission must name one of the caller's
PROJECT_REQUIRED: frozenset[JobKind] = frozenset({JobKind.UNITY_BUILD})
