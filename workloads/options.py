"""What every workload's options dataclass shares: built from test.json's `workload_options`, unknown keys named."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, TypeVar

T = TypeVar("T", bound="WorkloadOptions")


class WorkloadOptions:
    """Mixin for a workload's options dataclass; subclasses set KIND and define validate()."""

    KIND = "workload"

    @classmethod
    def from_dict(cls: type[T], d: dict[str, Any]) -> T:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown {cls.KIND} workload option(s): {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        options = cls(**d)
        options.validate()
        return options

    def validate(self) -> None:
        """Raises ValueError naming the first bad option."""

    def require_between(self, name: str, lo: float, hi: float) -> None:
        """ValueError naming option `name` and its bounds unless lo <= its value <= hi."""
        value = getattr(self, name)
        if not lo <= value <= hi:
            raise ValueError(f"{name} is {value}; it must be between {lo} and {hi}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]
