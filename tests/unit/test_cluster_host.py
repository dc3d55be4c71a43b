"""Host-side pieces: apt sources parsing, the address pool, persisted state, tags, the CLI's engine error."""

from __future__ import annotations

import ipaddress

import pytest

from prozess.cluster import addresses, image, state


def test_mirror_from_deb822_and_one_line_sources(tmp_path, monkeypatch):
    monkeypatch.delenv("PROZESS_DEBIAN_MIRROR", raising=False)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "other.list").write_text("deb [arch=amd64] https://example.invalid/apt cloud-bookworm main\n")
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.invalid/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\nComponents: main\n"
    )
    assert image.debian_mirror(tmp_path) == "http://mirror.invalid/debian"
    (tmp_path / "sources.list.d" / "debian.sources").unlink()
    (tmp_path / "sources.list").write_text("# comment\ndeb http://one.invalid/debian bookworm main contrib\n")
    assert image.debian_mirror(tmp_path) == "http://one.invalid/debian"


def test_no_mirror_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("PROZESS_DEBIAN_MIRROR", raising=False)
    with pytest.raises(image.ImageError, match="PROZESS_DEBIAN_MIRROR"):
        image.debian_mirror(tmp_path)


def test_node_tag_follows_inputs(tmp_path, monkeypatch):
    monkeypatch.setenv("PROZESS_CACHE_DIR", str(tmp_path))
    libs = tmp_path / "kafka" / "9.9.9" / "libs"
    libs.mkdir(parents=True)
    (libs / "kafka_2.13-9.9.9.jar").write_bytes(b"x")
    a = image.node_tag("9.9.9")
    assert a == image.node_tag("9.9.9") and a.startswith("prozess-node:")
    (libs / "extra.jar").write_bytes(b"yy")
    assert image.node_tag("9.9.9") != a
    monkeypatch.setenv("PROZESS_NODE_BASE", "debian:bookworm-slim")
    assert image.base_tag() == "debian:bookworm-slim"


def test_pick_subnet_skips_held_and_compose_subnets(monkeypatch):
    monkeypatch.setenv("PROZESS_ADDRESS_POOL", "10.213.0.0/16")
    monkeypatch.setattr(addresses, "subnets_in_use_on_host", lambda: [ipaddress.IPv4Network("10.213.2.0/24")])
    net = addresses.pick_subnet(["10.213.1.0/24"])
    assert str(net) == "10.213.3.0/24"
    assert addresses.node_address(net, 1) == "10.213.3.11" and addresses.gateway_address(net) == "10.213.3.1"


@pytest.mark.parametrize("pool", ["8.8.0.0/16", "10.213.0.0/24", "nonsense"])
def test_bad_pool_is_rejected(pool, monkeypatch):
    monkeypatch.setenv("PROZESS_ADDRESS_POOL", pool)
    with pytest.raises(addresses.AddressError, match="PROZESS_ADDRESS_POOL"):
        addresses.pool()


def test_state_round_trip_and_clear_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("PROZESS_STATE_DIR", str(tmp_path))
    state.save_state({"name": "abc", "backend": "docker"})
    assert state.load_state("abc")["backend"] == "docker"
    assert [s["name"] for s in state.all_states()] == ["abc"]
    with pytest.raises(state.StateError, match="no prozess cluster named 'zzz' \\(known: abc\\)"):
        state.load_state("zzz")
    with pytest.raises(state.StateError, match="not usable"):
        state.valid_name("../etc")
    state.delete_state("abc")
    assert state.all_states() == []


def test_attach_unknown_cluster_names_it(tmp_path, monkeypatch):
    from prozess.cluster import ClusterError, attach_cluster

    monkeypatch.setenv("PROZESS_STATE_DIR", str(tmp_path))
    with pytest.raises(ClusterError, match="no prozess cluster named 'nope'"):
        attach_cluster("nope")


def test_cli_up_without_engine_and_not_root_simulated(monkeypatch):
    """Simulated: this machine has an engine and runs as root, so both are patched away."""
    from typer.testing import CliRunner

    import prozess.cluster.engine as engine
    import prozess.setup as setup
    from prozess.cluster.cli import app

    monkeypatch.setattr(engine, "engine_answers", lambda timeout=5: False)
    monkeypatch.setattr(setup, "is_root", lambda: False)
    monkeypatch.setattr(engine, "is_root", lambda: False)
    monkeypatch.setattr(engine, "is_debian", lambda: True)
    r = CliRunner().invoke(app, ["up"])
    assert r.exit_code == 2
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "docker.io" in lines[0] and "not root" in lines[0], r.output


def test_setup_steps_checks_change_nothing(tmp_path, monkeypatch):
    from prozess.cluster.setup_steps import steps

    monkeypatch.setenv("PROZESS_CACHE_DIR", str(tmp_path))
    names = [s.name for s in steps()]
    assert names == ["docker engine", "Kafka jars", "node image", "netns host tools", "disk layer host tools",
                     "Tansu binary", "Tansu host packages", "Tansu node image"]
    jars = next(s for s in steps() if s.name == "Kafka jars")
    assert not jars.check().ready and list(tmp_path.iterdir()) == []
    tansu = next(s for s in steps() if s.name == "Tansu binary")
    assert tansu.optional and not tansu.check().ready and list(tmp_path.iterdir()) == []


def test_ssh_host_parsing():
    from prozess.cluster.backends.ssh import SshError, parse_host

    assert parse_host("kafka@db1:2222") == {"user": "kafka", "host": "db1", "port": 2222}
    assert parse_host("db2") == {"user": None, "host": "db2", "port": None}
    with pytest.raises(SshError, match="user@"):
        parse_host("db3:ssh")
