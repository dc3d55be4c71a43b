"""Client settings that cannot work together, found before any cluster starts.

Some combinations are refused by the client library itself, op after op, once
the run is going: librdkafka will not build an idempotent producer with
`acks` other than all (`Failed to create producer: acks must be set to all
when enable.idempotence is true`), nor with `retries` = 0. A run with such
settings would spend its whole time limit failing and end unknown. They are
checked here against each other (flags, spec and `--client-properties`
together) and reported with the fix, so `prozess run` exits 2 at once.
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["client_conflicts"]

_TRUE = ("true", "1", "yes")


def client_conflicts(client: Mapping[str, Any], properties: Mapping[str, str] | None = None) -> list[str]:
    """One message per conflict between the client settings (each names the fix); empty when they fit."""
    props = {str(k).replace("_", "."): str(v) for k, v in (properties or {}).items()}
    acks = str(props.get("acks", client.get("acks", "all")))
    if "enable.idempotence" in props:
        idem, idem_from = props["enable.idempotence"].lower() in _TRUE, "enable.idempotence in the client properties"
    else:
        idem, idem_from = bool(client.get("idempotence", True)), "idempotence, on by default"
    retries = props.get("retries", client.get("retries"))
    out: list[str] = []
    if idem and acks not in ("all", "-1"):
        fix = "add --no-idempotence" if "enable.idempotence" not in props else "set enable.idempotence=false in the client properties"
        what = "client.transactions needs idempotence, so use --acks all" if client.get("transactions") else f"{fix} (to test acks={acks} as such) or use --acks all"
        out.append(f"acks={acks} conflicts with {idem_from}: an idempotent producer needs acks=all. Fix: {what}")
    if idem and retries is not None and str(retries).strip() in ("0",):
        out.append(f"retries=0 conflicts with {idem_from}: an idempotent producer needs retries > 0. "
                   "Fix: drop --retries 0, or add --no-idempotence")
    return out
