"""The benchmark scripts as modules, for tests that check their pure parts (benchmarks/ is not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def detection() -> ModuleType:
    """benchmarks/detection.py, loaded once per session under one name (its dataclasses need a module in sys.modules)."""
    name = "prozess_bench_detection"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "detection.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]
