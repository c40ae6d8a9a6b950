"""Shared by the Spark tests: PySpark and Java, or a skip with the reason."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest


def require_spark() -> None:
    """Skip (or fail under ARIANE_REQUIRE_SERVICES=1) without PySpark or Java."""
    missing = None
    if importlib.util.find_spec("pyspark") is None:
        missing = "PySpark is not installed (pip install 'ariane[spark]')"
    elif shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing = "Java is not installed"
    if missing:
        if os.environ.get("ARIANE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{missing}; ARIANE_REQUIRE_SERVICES=1 requires it")
        pytest.skip(missing)
