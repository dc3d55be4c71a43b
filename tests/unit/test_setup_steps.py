"""`prozess setup` runs the steps of other systems only when asked: a fresh `make campaign` must not
start a half-hour cargo build of Tansu, while `make test` (`--all`) sets up every system."""

from __future__ import annotations

from prozess.setup import Step, StepStatus, run_setup


def _steps(applied: list[str]) -> list[Step]:
    def step(name: str, extra: str | None = None) -> Step:
        state = {"ready": False}

        def apply() -> None:
            applied.append(name)
            state["ready"] = True

        return Step(name, lambda: StepStatus(state["ready"], "ok" if state["ready"] else "missing"), apply,
                    optional=extra is not None, extra=extra)

    return [step("kafka jars"), step("tansu binary", "tansu"), step("other", "other")]


def test_default_setup_leaves_other_systems_alone():
    applied: list[str] = []
    seen: list[tuple[str, str]] = []
    run_setup(_steps(applied), on_step=lambda s, state: seen.append((s.name, state)))
    assert applied == ["kafka jars"]
    assert ("tansu binary", "not asked") in seen


def test_with_names_the_systems_to_set_up():
    applied: list[str] = []
    run_setup(_steps(applied), extras=["tansu"])
    assert applied == ["kafka jars", "tansu binary"]


def test_all_sets_up_every_system():
    applied: list[str] = []
    run_setup(_steps(applied), extras=None)
    assert applied == ["kafka jars", "tansu binary", "other"]
