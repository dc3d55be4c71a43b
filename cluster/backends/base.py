"""The backend interface: make nodes, run commands in them, move files, remove them.

A backend records every resource it creates in `state["resources"]` and calls
`save()` right after, so `destroy` (possibly in another process, from the persisted
state) removes exactly what was made, even after a crash half-way through `create`.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Protocol

from prozess.cluster.kafka import NodeLayout

__all__ = ["ExecResult", "ExecError", "ExecTimeout", "Backend"]


class ExecResult(NamedTuple):
    """What a command run on a node returned; stdout/stderr decoded as UTF-8 (bad bytes replaced)."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class ExecError(RuntimeError):
    """A command run with check=True exited non-zero."""

    def __init__(self, node: str, argv: list[str], result: ExecResult):
        self.node, self.argv, self.result = node, argv, result
        tail = (result.stderr or result.stdout).strip()[-500:]
        super().__init__(f"on {node}: {argv!r} exited {result.returncode}: {tail}")


class ExecTimeout(TimeoutError):
    """A command on a node did not finish within its timeout (it was killed)."""


class Backend(Protocol):
    name: str
    uses_pool: bool  # nodes get addresses from prozess's pool (guarded by the blackhole route)

    def node_layout(self, node: str) -> NodeLayout:
        """Where this node keeps Kafka's jars, data, logs and pidfile (as the node sees them)."""

    def prepare(self, spec) -> None:
        """Slow, resource-free preparation (images, jars) before anything is created."""

    def create(self, state: dict[str, Any], save: Callable[[], None]) -> None:
        """Makes the nodes named in state["nodes"] at state["addresses"]; records what it made."""

    def destroy(self, state: dict[str, Any]) -> list[str]:
        """Removes what state["resources"] records; idempotent; returns problems it could not fix."""

    def exec(self, node: str, argv: list[str], *, timeout: float = 30, input: bytes | None = None) -> ExecResult: ...

    def put_file(self, node: str, path: str, data: bytes, mode: int = 0o644) -> None: ...

    def get_file(self, node: str, path: str) -> bytes: ...

    def close(self) -> None: ...


def decode(b: bytes | None) -> str:
    return (b or b"").decode("utf-8", errors="replace")
