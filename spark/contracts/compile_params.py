"""`compile_check` params (CONTRACT §5): only the ref to compile."""

from __future__ import annotations

from spark.contracts.build_params import GitRef
from spark.contracts.params import Params


class CompileCheckParams(Params):
    """`compile_check`: import and compile the project's scripts in a batch-mode editor.

    No timeout of its own: the builder's SPARK_BUILD_TIMEOUT_S bounds it, as it bounds a
    build that names none, since the import is the same work a build starts with.
    """

    ref: GitRef | None = None
