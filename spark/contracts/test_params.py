"""`run_tests` params (CONTRACT §5): which test platform, which tests, from which ref."""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import Field, StringConstraints

from spark.contracts.build_params import GitRef
from spark.contracts.params import Params

#: the longest a test run may be given; Celery's own limit for the kind sits above it
MAX_TEST_TIMEOUT_S = 3 * 3600

#: a `-testFilter`, `-testCategory` or `-assemblyNames` entry: Unity's `;`-lists are built
#: from these, so none may hold the separator, a quote or a leading dash
TestSelector = Annotated[
    str, StringConstraints(pattern=r"^[^;\"'\s-][^;\"'\n\r]{0,499}$", max_length=500)
]


class UnityTestPlatform(enum.StrEnum):
    """Where Unity runs the tests: in the editor, or in Play Mode."""

    EDIT_MODE = "EditMode"
    PLAY_MODE = "PlayMode"


class RunTestsParams(Params):
    """`run_tests`: run the project's Unity tests for one platform in batch mode."""

    platform: UnityTestPlatform = UnityTestPlatform.EDIT_MODE
    #: full test names, or one regular expression (Unity's -testFilter)
    filter: TestSelector | None = None
    categories: list[TestSelector] = Field(default_factory=list, max_length=50)
    assemblies: list[TestSelector] = Field(default_factory=list, max_length=50)
    ref: GitRef | None = None
    #: stop the run after this long; unset → SPARK_BUILD_TIMEOUT_S (60 min)
    timeout_s: int | None = Field(default=None, ge=1, le=MAX_TEST_TIMEOUT_S)
