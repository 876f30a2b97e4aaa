"""Engine.team / taskengine.team: members run at the same time on distinct
threads (a threading.Barrier among all of them passes), from outside and from
inside tasks, nested; exceptions; bad sizes; many teams in a loop. Runs under
pytest-timeout (pyproject.toml): a member queued behind other work would hang."""

from __future__ import annotations

import threading

import pytest

import taskengine


def barrier_team(run, n: int) -> None:
    barrier = threading.Barrier(n, timeout=30)
    seen: list[tuple[int, int, int]] = []
    lock = threading.Lock()

    def member(m: int, members: int) -> None:
        barrier.wait()
        with lock:
            seen.append((m, members, threading.get_ident()))

    caller = threading.get_ident()
    run(n, member)
    assert sorted(m for m, _, _ in seen) == list(range(n))
    assert {members for _, members, _ in seen} == {n}
    assert len({t for _, _, t in seen}) == n
    assert [t for m, _, t in seen if m == 0] == [caller]


def test_barrier_among_all_members(engine):
    for n in range(1, 9):
        barrier_team(engine.team, n)
        barrier_team(taskengine.team, n)


def test_from_inside_tasks_with_every_worker_busy(engine):
    # Every worker runs a task that runs a team: the members need threads of
    # their own.
    all_in = threading.Barrier(engine.workers, timeout=30)

    def task() -> str:
        all_in.wait()
        barrier_team(taskengine.team, 3)
        return "ok"

    tasks = [engine.spawn(task) for _ in range(engine.workers)]
    assert [t.wait(timeout=30) for t in tasks] == ["ok"] * engine.workers


def test_nested_teams(engine):
    outer = threading.Barrier(3, timeout=30)

    def member(m: int, n: int) -> None:
        barrier_team(taskengine.team, 2)
        outer.wait()

    engine.team(3, member)


def test_first_exception_is_raised_after_all_members_ran(engine):
    calls = []

    def member(m: int, n: int) -> None:
        calls.append(m)
        if m == 1:
            raise KeyError("member one")

    with pytest.raises(KeyError, match="member one"):
        engine.team(3, member)
    assert sorted(calls) == [0, 1, 2]


def test_bad_arguments(engine):
    with pytest.raises(taskengine.InvalidArgumentError):
        engine.team(0, lambda m, n: None)
    with pytest.raises(ValueError):
        engine.team(-1, lambda m, n: None)
    with pytest.raises(ValueError):
        engine.team(taskengine.Engine.TEAM_MAX_MEMBERS + 1, lambda m, n: None)
    with pytest.raises(TypeError):
        engine.team(2, 42)  # type: ignore[arg-type]
    engine.close()
    with pytest.raises(taskengine.EngineShutdownError):
        engine.team(2, lambda m, n: None)


def test_many_teams_reuse_threads():
    with taskengine.Engine(workers=2) as e:
        count = [0]
        lock = threading.Lock()

        def member(m: int, n: int) -> None:
            with lock:
                count[0] += 1

        for _ in range(2000):
            e.team(2, member)
        assert count[0] == 4000
        stats = e.team_stats()
        assert stats["runs"] == 2000
        assert stats["threads_started"] == 1
        assert stats["threads_parked"] == 1


def test_members_module_functions_use_the_team_engine():
    with taskengine.Engine(workers=3) as e:
        seen = []

        def member(m: int, n: int) -> None:
            # Module-level calls in a member run on the team's engine.
            seen.append(taskengine.spawn(lambda: taskengine.fibonacci(20)).wait(timeout=30))

        before = e.stats()["submitted"]
        e.team(3, member)
        assert seen == [6765] * 3
        assert e.stats()["submitted"] == before + 3
