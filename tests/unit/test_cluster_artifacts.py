"""Cached artifacts are installed all or nothing: a failed build leaves the cache as it was."""

from __future__ import annotations

import pytest

from prozess.cluster.artifacts import install_atomically, run_build


def test_a_build_that_succeeds_replaces_the_folder_whole(tmp_path):
    final = tmp_path / "tool" / "1.0"
    final.mkdir(parents=True)
    (final / "old").write_text("stale")
    install_atomically(final, "1.0", lambda tmp: (tmp / "bin").write_text("new"))
    assert sorted(p.name for p in final.iterdir()) == ["bin"]
    assert [p.name for p in final.parent.iterdir()] == ["1.0"]  # no temporary folder left


def test_a_build_that_fails_leaves_nothing_behind(tmp_path):
    final = tmp_path / "tool" / "2.0"

    def broken(tmp):
        (tmp / "half").write_text("x")
        raise RuntimeError("build failed")

    with pytest.raises(RuntimeError, match="build failed"):
        install_atomically(final, "2.0", broken)
    assert not final.exists() and list(final.parent.iterdir()) == []


def test_a_tool_that_overruns_raises_the_callers_error():
    class ToolError(Exception):
        pass

    with pytest.raises(ToolError, match="too slow"):
        run_build(["sleep", "5"], 0.2, ToolError, "too slow")
    assert run_build(["true"], 5, ToolError, "too slow").returncode == 0
