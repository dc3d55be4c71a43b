"""`prozess cluster ...`: start, inspect and remove Kafka clusters from the shell.

`up` leaves the cluster running (its state is persisted) so that `status`, `logs`,
`down` and `prozess heal` in later commands act on it; a failed or interrupted `up`
removes what it made.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Start, inspect and remove Kafka clusters.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)

PROBE_TOPIC = "prozess-probe"


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"prozess: error: {message}", err=True)
    raise typer.Exit(code)


def _pick_backend(backend: Optional[str]) -> str:
    """docker when an engine answers; otherwise netns as root; otherwise one clear error."""
    from prozess.cluster.engine import engine_answers, no_engine_message
    from prozess.setup import is_root

    if backend:
        if backend == "docker" and not engine_answers():
            _fail(no_engine_message())
        if backend == "netns" and not is_root():
            _fail("the netns backend needs root; run as root, or use --backend docker with a running docker engine")
        return backend
    if engine_answers():
        return "docker"
    if is_root():
        typer.echo("no docker engine answers; using the netns backend", err=True)
        return "netns"
    _fail(no_engine_message())
    return ""  # unreachable


def _resolve_name(name: Optional[str]) -> str:
    from prozess.cluster.cluster import list_clusters

    if name:
        return name
    clusters = [c for c in list_clusters() if not c.get("mirror_of")]  # a mirror target goes with its source
    if len(clusters) == 1:
        return clusters[0]["name"]
    if not clusters:
        _fail("no prozess cluster exists; start one with `prozess cluster up`")
    _fail("several clusters exist (" + ", ".join(c["name"] for c in clusters) + "); name one")
    return ""


def _attach(name: Optional[str]):
    from prozess.cluster.attach import attach_cluster
    from prozess.cluster.cluster import ClusterError

    try:
        return attach_cluster(_resolve_name(name))
    except ClusterError as e:
        _fail(str(e))


@app.command()
def up(
    nodes: int = typer.Option(3, "--nodes", "-n", help="Number of nodes (1-9)."),
    preset: str = typer.Option("safe", "--preset", help="safe | unsafe | unsafe-unclean | unsafe-min-isr"),
    backend: Optional[str] = typer.Option(None, "--backend", help="docker | netns | ssh (default: docker if an engine answers, else netns as root)"),
    name: Optional[str] = typer.Option(None, "--name", help="Cluster name (default: prozess, or prozess-2, ...)."),
    controllers: str = typer.Option("combined", "--controllers", help="combined | dedicated"),
    controller_count: int = typer.Option(3, "--controller-count", help="Controllers (with --controllers dedicated: extra nodes)."),
    timeout: float = typer.Option(300, "--timeout", help="Seconds to wait for a healthy cluster."),
    host: list[str] = typer.Option([], "--host", help="ssh backend: user@host[:port] of each node (repeat); none = prozess's own sshd containers."),
    kafka_version: Optional[str] = typer.Option(None, "--kafka-version", help="Apache Kafka release, 3.7.x-4.4.x (default 4.4.0)."),
    metadata: str = typer.Option("kraft", "--metadata", help="kraft | zookeeper (3.7-3.9: ZooKeeper ensemble on nodes of its own)."),
    zookeepers: int = typer.Option(3, "--zookeepers", help="ZooKeeper ensemble size with --metadata zookeeper."),
    system: str = typer.Option("kafka", "--system", help="kafka | tansu (Tansu brokers on PostgreSQL on a node of its own)."),
) -> None:
    """Start a Kafka cluster and leave it running."""
    from prozess.cluster.cluster import ClusterError, list_clusters, open_cluster
    from prozess.cluster.spec import ClusterSpec, SpecError
    from prozess.setup import SetupError

    chosen = _pick_backend(backend)
    if not name:
        taken = {c["name"] for c in list_clusters()}
        name = next(n for n in ["prozess"] + [f"prozess-{i}" for i in range(2, 100)] if n not in taken)
    try:
        overrides = {"nodes": nodes, "controllers": controllers, "controller_count": min(controller_count, nodes),
                     "metadata": metadata, "zookeeper_count": zookeepers, "system": system}
        if kafka_version:
            overrides["kafka_version"] = kafka_version
        brokers = nodes - overrides["controller_count"] if controllers == "dedicated" else nodes
        if 0 < brokers < 3:  # small clusters: replication cannot exceed the brokers
            overrides.update(replication_factor=brokers, min_insync_replicas=min(2, brokers) if brokers > 1 else 1)
        spec = ClusterSpec.preset(preset, **overrides)
    except SpecError as e:
        _fail(str(e))
    options = {"hosts": list(host)} if chosen == "ssh" and host else {}

    def on_term(signum, frame):  # a terminated `up` removes what it made, like Ctrl-C
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        cluster = open_cluster(spec, backend=chosen, name=name, log=lambda m: typer.echo(m, err=True), **options)
        cluster.up(timeout=timeout)
    except (ClusterError, SetupError, OSError, ValueError) as e:
        _fail(str(e), 1)
    except KeyboardInterrupt:
        _fail("interrupted; everything `up` made was removed", 130)
    finally:
        signal.signal(signal.SIGTERM, previous)
    typer.echo(f"cluster {cluster.name} is up: {cluster.system.describe()} ({chosen}, {len(cluster.nodes)} nodes)")
    typer.echo(f"bootstrap servers: {cluster.bootstrap_servers()}")
    typer.echo(f"remove it with: prozess cluster down {cluster.name}")


@app.command()
def status(name: Optional[str] = typer.Argument(None), as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Brokers registered, active controller, and leader/ISR of a probe topic."""
    cluster = _attach(name)
    try:
        cluster.create_topic(PROBE_TOPIC, partitions=3, timeout=30)
    except Exception as e:
        typer.echo(f"(probe topic not available: {e})", err=True)
    st = cluster.status(probe_topic=PROBE_TOPIC)
    if as_json:
        typer.echo(json.dumps(st, indent=2))
        return
    typer.echo(f"cluster {st['name']} ({st['backend']}, {st['phase']}); bootstrap {st['bootstrap_servers']}")
    typer.echo(f"{st['system']}; registered brokers: {st['registered_brokers']}; active controller: {st['active_controller']}"
               + (f"; ZooKeeper leader: {st['zookeeper_leader']}" if "zookeeper_leader" in st else ""))
    for node, info in st["nodes"].items():
        pid = info["kafka_pid"]
        typer.echo(f"  {node}  {info['address']:15}  {','.join(info['roles']):18}  kafka {'pid ' + str(pid) if pid else 'NOT RUNNING'}")
    probe = st.get("probe")
    if isinstance(probe, dict):
        for topic, parts in probe.items():
            for p, info in parts.items():
                typer.echo(f"  {topic}[{p}] leader={info['leader']} isr={info['isr']}")
    elif probe:
        typer.echo(f"  probe: {probe}")


@app.command()
def logs(
    name: Optional[str] = typer.Argument(None),
    node: Optional[str] = typer.Option(None, "--node", help="Only this node."),
    lines: int = typer.Option(40, "--lines", help="Last lines of each server.log."),
    dest: Optional[Path] = typer.Option(None, "--dest", help="Copy every node's logs and configs into DEST/<node>/ instead."),
) -> None:
    """Show (or collect) the logs of a cluster's nodes (Kafka's server.log, ZooKeeper's zookeeper.log)."""
    cluster = _attach(name)
    if dest:
        files = cluster.collect_logs(dest)
        typer.echo(f"{len(files)} files written under {dest}")
        return
    for n in [node] if node else cluster.nodes:
        try:
            if hasattr(cluster, "main_log"):  # a mirror set-up: each node's log by the part it belongs to
                path = cluster.main_log(n)
            else:
                path = cluster.system.log_files(n, cluster.backend.node_layout(n))[0]
            text = cluster.get_file(n, path).decode(errors="replace")
        except Exception as e:
            text = f"(no server.log: {e})"
        typer.echo(f"==> {n} <==")
        typer.echo("\n".join(text.splitlines()[-lines:]))


@app.command()
def down(name: Optional[str] = typer.Argument(None), all_: bool = typer.Option(False, "--all", help="Remove every prozess cluster.")) -> None:
    """Remove a cluster and everything `up` made for it."""
    from prozess.cluster.attach import attach_cluster
    from prozess.cluster.cluster import ClusterError, list_clusters

    names = [c["name"] for c in list_clusters()] if all_ else [_resolve_name(name)]
    failed = False
    from prozess.cluster.state import state_path

    for n in names:
        if all_ and not state_path(n).exists():
            continue  # a mirror campaign's target, removed with its source
        try:
            cluster = attach_cluster(n)
            source = cluster.state.get("mirror_of")
            if source and state_path(source).exists():
                raise ClusterError(f"cluster {n} is the target of the mirror set-up {source} (its MirrorMaker 2 node is "
                                   f"on {n}'s network): remove the whole set-up with `prozess cluster down {source}`")
            cluster.down()
            typer.echo(f"cluster {n} removed")
        except ClusterError as e:
            typer.echo(f"prozess: error: {e}", err=True)
            failed = True
    if failed:
        raise typer.Exit(1)


@app.command("list")
def list_() -> None:
    """Every prozess cluster on this machine."""
    from prozess.cluster.cluster import list_clusters

    clusters = list_clusters()
    if not clusters:
        typer.echo("no prozess clusters")
        return
    for c in clusters:
        typer.echo(f"{c['name']:24} {c['backend']:7} {len(c.get('nodes', [])):2} nodes  {c.get('subnet') or '-':16} {c.get('phase')}  {c.get('created')}")
