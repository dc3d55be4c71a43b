"""The seed questions of prozess, as campaigns that gate a release.

- acks=all with min.insync.replicas=2 keeps every acknowledged write under the
  split [B1,B2] | [B3, controller] and under isolation of a partition leader;
- with unclean leader election disabled, partitions plus kills lose nothing;
- the idempotent producer writes no duplicates while brokers are killed;
- leader epochs truncate diverged replicas under pauses plus partitions, so no
  two reads ever disagree about the value at an offset.

`-k smoke` selects the short matrix CI runs: 2 configs x 2 fault sets.
"""

from __future__ import annotations

import pytest

SAFE = {"acks": "all", "idempotence": True}
NEMESIS = {"interval": 8, "duty": 0.5, "quiet": 6}


@pytest.mark.prozess(workload="queue", preset="safe", time_limit=20, nemesis=NEMESIS)
@pytest.mark.parametrize("client", [SAFE, {"acks": "all", "idempotence": True, "library": "kafka-python"}], ids=["confluent", "kafka-python"])
@pytest.mark.parametrize("faults", [["partition"], ["kill"]], ids=["partition", "kill"])
def test_smoke(prozess_campaign, client, faults):
    """Smoke matrix: both client libraries under partitions and under kills, on the safe preset."""
    prozess_campaign(client=client, faults=faults)


@pytest.mark.prozess(workload="queue", preset="safe", client=SAFE, time_limit=30)
@pytest.mark.parametrize("grudge", ["split-controller", "leader"])
def test_acks_all_min_isr_2_keeps_acknowledged_writes(prozess_campaign, grudge):
    prozess_campaign(faults=["partition"], nemesis={**NEMESIS, "grudges": [grudge]})


@pytest.mark.prozess(workload="queue", preset="safe", client=SAFE, time_limit=30, nemesis=NEMESIS)
def test_unclean_election_disabled_loses_nothing_under_partitions_and_kills(prozess_campaign):
    prozess_campaign(faults=["partition+kill"], cluster={"unclean_leader_election": False})


@pytest.mark.prozess(workload="queue", preset="safe", client=SAFE, time_limit=30, nemesis=NEMESIS)
def test_idempotent_producer_writes_no_duplicates_under_kills(prozess_campaign):
    campaign = prozess_campaign(faults=["kill"], check=False)
    assert "duplicate" not in campaign.anomalies, campaign.anomalies
    assert campaign.valid is True, campaign.anomalies


@pytest.mark.prozess(workload="queue", preset="safe", client=SAFE, time_limit=30, nemesis=NEMESIS)
def test_leader_epochs_keep_offsets_consistent_under_pause_and_partition(prozess_campaign):
    campaign = prozess_campaign(faults=["pause+partition"], check=False)
    assert "inconsistent-offsets" not in campaign.anomalies, campaign.anomalies
    assert campaign.valid is True, campaign.anomalies
