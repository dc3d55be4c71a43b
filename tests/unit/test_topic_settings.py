"""Whose replication settings a run's topics get (`prozess.runner.topic_settings_spec`).

The detection matrix runs unsafe cells (min ISR 1, unclean election on) on one
cluster started with the safe preset; the topics must follow the cell, or the
unsafe row silently measures the safe configuration.
"""

from __future__ import annotations

from prozess.cluster.spec import ClusterSpec
from prozess.runner import topic_settings_spec
from prozess.spec import TestSpec


def _settings(s):
    return None if s is None else (s.replication_factor, s.min_insync_replicas, s.unclean_leader_election)


SAFE_CLUSTER = ClusterSpec.preset("safe")
UNSAFE_CLUSTER = ClusterSpec.preset("unsafe")


def test_a_named_preset_wins_over_a_handed_in_clusters_settings():
    assert _settings(topic_settings_spec(TestSpec(preset="unsafe"), SAFE_CLUSTER)) == (3, 1, True)
    assert _settings(topic_settings_spec(TestSpec(preset="unsafe-min-isr"), SAFE_CLUSTER))[1] == 1


def test_named_topic_fields_win_over_the_cluster():
    assert _settings(topic_settings_spec(TestSpec(cluster={"min_insync_replicas": 1}), SAFE_CLUSTER)) == (3, 1, False)


def test_a_test_that_names_nothing_takes_the_clusters_settings():
    assert _settings(topic_settings_spec(TestSpec(), UNSAFE_CLUSTER)) == (3, 1, True)
    assert _settings(topic_settings_spec(TestSpec(cluster={"kafka_version": "3.9.1"}), UNSAFE_CLUSTER)) == (3, 1, True)


def test_bootstrap_runs_keep_the_brokers_defaults_unless_the_test_names_settings():
    assert topic_settings_spec(TestSpec(bootstrap="127.0.0.1:9092"), None) is None
    # `--replication-factor 1` on a one-broker bootstrap: the field alone, never the safe preset's min ISR 2 beside it
    assert topic_settings_spec(TestSpec(bootstrap="127.0.0.1:9092", cluster={"replication_factor": 1}), None) is None
    assert _settings(topic_settings_spec(TestSpec(bootstrap="127.0.0.1:9092", preset="unsafe"), None)) == (3, 1, True)
