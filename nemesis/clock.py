"""Clock skew per node through libfaketime; the host clock is never touched.

Containers share the host kernel's clock, so prozess skews only the broker JVM:
it runs under libfaketime (LD_PRELOAD) reading its offset from the cluster's
`faketime_path` (FAKETIME_TIMESTAMP_FILE). Writing "+30s" there moves that node's
broker 30 s ahead, "+0" resets it.

- bump: write a fixed offset per node; reset writes "+0".
- strobe: a bounded loop inside the node flips the offset between +N and +0 every
  period for a duration (its pid is kept in a file so heal can stop it even after
  the process that started it is gone).
- check-offsets: runs `date` under the broker's own environment (read from
  /proc/<pid>/environ when the broker runs) and plain `date`, and records the difference.

The clock fault package (`PACKAGE`, at the end): kind ``clock``, opened by
``bump-clock`` or ``strobe-clock`` and closed by ``reset-clock``, each followed in
the schedule by ``check-offsets`` (an observation that opens no window); its part
of heal-all stops a strobe and writes "+0".
"""

from __future__ import annotations

import random
from typing import Any, Mapping, Sequence

from prozess.nemesis.executor import Executor, NemesisError, text
from prozess.nemesis.package import FaultContext, FaultPackage, each
from prozess.nemesis.process import choose_targets

__all__ = [
    "PACKAGE",
    "STROBE_PIDFILE",
    "FAKETIME_LIBS",
    "broker_env",
    "clock_offset",
    "faketime_env",
    "offset_text",
    "reset_clock",
    "stop_strobe",
    "strobe_argv",
    "write_offset",
]

STROBE_PIDFILE = "/tmp/prozess-strobe.pid"
FAKETIME_LIBS = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
)
_ENV_KEYS = ("LD_PRELOAD", "FAKETIME_TIMESTAMP_FILE", "FAKETIME_NO_CACHE", "FAKETIME_CACHE_DURATION", "DONT_FAKE_MONOTONIC", "FAKETIME_DONT_FAKE_MONOTONIC", "FAKETIME")

_WRITE = 'printf "%s\\n" "$1" > "$2.prozess-tmp" && mv -f "$2.prozess-tmp" "$2"'
_STROBE = (
    'echo $$ > "$1"; i=0; '
    'while [ "$i" -lt "$4" ]; do '
    'printf "%s\\n" "$2" > "$3"; sleep "$5"; printf "+0\\n" > "$3"; sleep "$5"; i=$((i+1)); '
    'done; rm -f "$1"'
)
_STOP_STROBE = 'if [ -f "$1" ]; then kill "$(cat "$1")" 2>/dev/null; rm -f "$1"; fi; true'


def offset_text(seconds: float) -> str:
    """libfaketime's relative offset syntax: +30s, -90s, +0."""
    s = int(round(seconds))
    return "+0" if s == 0 else f"{s:+d}s"


def faketime_path(cluster: Any) -> str:
    path = getattr(cluster, "faketime_path", None)
    if not path:
        raise NemesisError("the cluster has no faketime_path: its brokers do not run under libfaketime, so clock faults cannot run")
    return str(path)


def write_offset(ex: Executor, node: str, path: str, seconds: float) -> None:
    """Atomically writes the offset into the node's faketime file."""
    ex.run(node, ["sh", "-c", _WRITE, "prozess-clock", offset_text(seconds), path])


def reset_clock(ex: Executor, node: str, path: str, *, check: bool = True) -> None:
    stop_strobe(ex, node, check=check)
    ex.run(node, ["sh", "-c", _WRITE, "prozess-clock", "+0", path], check=check)


def strobe_argv(path: str, seconds: float, period_s: float, count: int) -> list[str]:
    """argv of the bounded in-node strobe loop (count flips of +N / +0, period_s each)."""
    if count < 1 or count > 100_000 or period_s <= 0:
        raise NemesisError(f"strobe needs 1..100000 flips and a positive period, got count={count} period={period_s}")
    return ["sh", "-c", _STROBE, "prozess-strobe", STROBE_PIDFILE, offset_text(seconds), path, str(int(count)), f"{period_s:g}"]


def stop_strobe(ex: Executor, node: str, *, check: bool = True) -> None:
    ex.run(node, ["sh", "-c", _STOP_STROBE, "prozess-strobe-stop", STROBE_PIDFILE], check=check)


def faketime_env(ex: Executor, node: str, path: str) -> dict[str, str]:
    """The libfaketime environment a broker on `node` runs with (read from it when it runs)."""
    env = broker_env(ex, node)
    if env.get("LD_PRELOAD") and "faketime" in env["LD_PRELOAD"]:
        env.setdefault("FAKETIME_TIMESTAMP_FILE", path)
        env["FAKETIME_NO_CACHE"] = "1"  # measure now, not what a cache held
        return env
    extra = getattr(ex.cluster, "faketime_env", None)
    if isinstance(extra, Mapping) and extra.get("LD_PRELOAD"):
        return {**dict(extra), "FAKETIME_TIMESTAMP_FILE": path, "FAKETIME_NO_CACHE": "1"}
    res = ex.run(node, ["sh", "-c", 'for f in "$@"; do [ -e "$f" ] && echo "$f" && exit 0; done; exit 1', "prozess-find", *FAKETIME_LIBS], check=False)
    lib = text(res.stdout).strip() if res is not None and res.returncode == 0 else ""
    if not lib:
        raise NemesisError(f"{node}: libfaketime is not installed in the node (looked in {', '.join(FAKETIME_LIBS)})")
    return {"LD_PRELOAD": lib, "FAKETIME_TIMESTAMP_FILE": path, "FAKETIME_NO_CACHE": "1"}


def broker_env(ex: Executor, node: str) -> dict[str, str]:
    """The faketime-related environment variables of the running broker on `node` ({} if none runs)."""
    pid = None
    try:
        pid = ex.cluster.kafka_pid(node)
    except Exception:
        pid = None
    if not pid:
        return {}
    res = ex.run(node, ["cat", f"/proc/{int(pid)}/environ"], check=False)
    if res is None or res.returncode != 0:
        return {}
    env = {}
    for item in text(res.stdout).split("\0"):
        key, sep, value = item.partition("=")
        if sep and key in _ENV_KEYS:
            env[key] = value
    return env


def clock_offset(ex: Executor, node: str, env: Mapping[str, str]) -> float:
    """Seconds the node's broker clock (date under `env`) is ahead of the real clock."""
    assigns = [f"{k}={v}" for k, v in sorted(env.items()) if k != "LD_PRELOAD"]
    # The faked date first, then the real one (LD_PRELOAD cleared) in the same exec.
    argv = ["env", *assigns, f"LD_PRELOAD={env['LD_PRELOAD']}", "sh", "-c", "date +%s.%N; LD_PRELOAD= date +%s.%N"]
    res = ex.run(node, argv)
    lines = text(res.stdout).split()
    if len(lines) < 2:
        raise NemesisError(f"{node}: could not read the clock: {text(res.stdout)!r} {text(res.stderr)!r}")
    return round(float(lines[0]) - float(lines[1]), 3)



# ------------------------------------------------------------------ the clock fault package
def start_steps(kind: str, opts: Any, nodes: Sequence[str], brokers: Sequence[str], rng: random.Random, hold: float) -> list[tuple[str, Any]]:
    """A strobe (sometimes, when allowed) or a bump of drawn offsets on drawn nodes, then a measurement."""
    targets = choose_targets(rng.choice(["one", "minority", "majority", "all"]), nodes, rng)
    if opts.strobe and rng.random() < 0.3:
        delta = rng.randint(1, int(opts.clock_max)) * rng.choice([-1, 1])
        count = max(1, int(hold * 0.8 / (2 * opts.strobe_period)))
        return [("strobe-clock", {"nodes": targets, "delta": delta, "period": opts.strobe_period, "count": count})]
    offsets = {n: rng.randint(1, int(opts.clock_max)) * rng.choice([-1, 1]) for n in targets}
    return [("bump-clock", {"offsets": offsets}), ("check-offsets", {})]


def stop_steps(kind: str) -> list[tuple[str, Any]]:
    return [("reset-clock", {}), ("check-offsets", {})]


def bump_clock(nem: FaultContext, value: dict) -> dict:
    offsets = value.get("offsets") or {}
    path = faketime_path(nem.cluster)
    bad = [n for n in offsets if n not in nem.nodes]
    if bad:
        raise NemesisError(f"unknown node(s) {bad!r} in clock offsets")
    each(list(offsets), lambda n: write_offset(nem.ex, n, path, float(offsets[n])))
    return value


def strobe_clock(nem: FaultContext, value: dict) -> dict:
    nodes = nem.targets(value)
    path = faketime_path(nem.cluster)
    delta, period, count = float(value.get("delta", 10)), float(value.get("period", 0.5)), int(value.get("count", 10))
    argv = strobe_argv(path, delta, period, count)
    timeout = 2 * period * count + 30
    each(nodes, lambda n: nem.ex.run(n, argv, timeout=timeout))
    each(nodes, lambda n: reset_clock(nem.ex, n, path))
    return {**value, "nodes": nodes}


def reset_clock_action(nem: FaultContext, value: dict) -> dict:
    path = faketime_path(nem.cluster)
    nodes = nem.nodes
    each(nodes, lambda n: reset_clock(nem.ex, n, path))
    return {**value, "nodes": nodes}


def check_offsets(nem: FaultContext, value: dict) -> dict:
    path = faketime_path(nem.cluster)

    def measure(n: str) -> Any:
        try:
            return clock_offset(nem.ex, n, faketime_env(nem.ex, n, path))
        except NemesisError as e:
            return f"error: {e}"

    nodes = nem.nodes
    return {**value, "offsets": dict(zip(nodes, each(nodes, measure)))}


# Its part of the one-exec node heal (see prozess.nemesis.heal): stop a strobe, write "+0".
HEAL_SH = r"""if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null; rm -f "$pidfile"; fi
if [ -n "$clock" ]; then
  { printf '+0\n' > "$clock.prozess-tmp" && mv -f "$clock.prozess-tmp" "$clock"; } || { echo "reset-clock failed" >&2; rc=1; }
fi
"""

PACKAGE = FaultPackage(
    name="clock",
    pairs={"clock": ("bump-clock", "reset-clock")},
    actions={"bump-clock": bump_clock, "strobe-clock": strobe_clock, "reset-clock": reset_clock_action, "check-offsets": check_offsets},
    start_steps=start_steps,
    stop_steps=stop_steps,
    also_start={"strobe-clock": "clock"},
    heal_name="clock",
    heal_sh=HEAL_SH,
)
