"""`govflow bench engine`: what persistence costs, measured in one run.

1. SpiffWorkflow alone, in memory, on share_request's conditional path
   (start -> provider approves -> end), with govflow's sandboxed script engine and
   working-day `deadline()` helper, so that both sides run the same scripts. It is
   timed twice: on SpiffWorkflow's own BpmnWorkflow (the ratio's denominator), and on
   govflow's CaseWorkflow (engine/bpmn/walk.py), to show what the quicker walk of the
   task tree gains apart from persistence.
2. The same path through govflow's services on a SQLite file database, every step
   committed: start_case, then complete_task by a member of the provider group.
3. The cost of one step of a case with about 100 tasks, divided by that of a case
   with about 10 (a review that loops, so its task tree keeps growing), the two taking
   turns one step each.

Each measurement is repeated --runs times; the medians are printed. Within a run the two
sides of the ratio take turns in batches of BATCH cases, so both meet the machine at the
same speed (on a shared machine it can change by half within seconds).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.walk import CaseWorkflow
from engine.cases.govflow import WORKFLOWS, Govflow
from engine.people import directory
from engine.rules import resources
from engine.store.db import Database
from engine.time.clock import SHANGHAI, FrozenClock

LOOP = Path(__file__).resolve().parent / "models" / "loop.bpmn"
REQUEST = {"dataset_id": "BENCH-COMPANIES", "requester_dept": "dept_requester",
           "data_items": ["企业名称"]}
# What govflow adds from the catalog, for SpiffWorkflow alone.
ROUTED = {**REQUEST, "dataset": "企业登记信息", "provider_dept": "dept_bench",
          "share_class": "conditional", "in_catalog": True}
DATASET = {"id": "BENCH-COMPANIES", "name": "企业登记信息", "provider_dept": "dept_bench",
           "share_class": "conditional", "open_class": "not_open",
           "data_items": ["企业名称", "统一社会信用代码"],
           "restriction_basis": "bench: conditional sharing by regulation"}


def _govflow(folder: Path) -> Govflow:
    import datetime as dt

    clock = FrozenClock(dt.datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI))
    gf = Govflow(Database(f"sqlite:///{folder / 'bench.sqlite'}"), clock=clock)
    gf.init_schema()
    gf.deploy((WORKFLOWS / "share_request.bpmn").read_bytes(), "share_request.bpmn")
    gf.deploy(LOOP.read_bytes(), "loop.bpmn")
    with gf.db.write() as conn:
        directory.add_group(conn, "dept_bench", "Bench provider")
        directory.add_group(conn, "bench", "Bench reviewers")
        directory.add_group(conn, "dept_requester", "Bench requester")
        directory.add_user(conn, "reviewer", "Reviewer", password=None,
                           groups_=["dept_bench", "bench"], now=clock.now())
        directory.add_user(conn, "requester", "Requester", password=None,
                           groups_=["dept_requester"], now=clock.now())
        resources.save(conn, [("bench", DATASET)], by="bench", now=clock.now())
    return gf


def spiff_in_memory(gf: Govflow, cases: int, workflow_class: type = BpmnWorkflow) -> float:
    """Cases per second, SpiffWorkflow alone with the same script engine."""
    with gf.db.read() as conn:
        deployed = gf.definitions.latest(conn, "share_request")
    started = time.perf_counter()
    for _ in range(cases):
        workflow = workflow_class(deployed.spec, deployed.subprocess_specs,
                                  script_engine=gf.script_engine)
        workflow.get_tasks(state=TaskState.READY)[0].data.update(
            {**ROUTED, "received_at": "2026-11-20T09:00:00+08:00"})
        workflow.do_engine_steps()
        review = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        review.data.update({"decision": "approve"})
        review.run()
        workflow.do_engine_steps()
        assert workflow.completed
    return cases / (time.perf_counter() - started)


def govflow_on_sqlite(gf: Govflow, cases: int) -> float:
    """Cases per second through start_case and complete_task, each step committed."""
    started = time.perf_counter()
    for _ in range(cases):
        case = gf.start_case("share_request", REQUEST, user="requester")
        done = gf.complete_task(case.tasks[0].id, "reviewer", {"decision": "approve"})
        assert done.status == "completed"
    return cases / (time.perf_counter() - started)


def _looping(gf: Govflow, rounds: int, cases: int) -> tuple[list[str], int]:
    """Open tasks of `cases` cases that already went `rounds` rounds, and their size."""
    open_tasks = []
    for _ in range(cases):
        case = gf.start_case("bench_loop", {"again": True})
        task_id = case.tasks[0].id
        for _ in range(rounds):
            task_id = _open_task(gf.complete_task(task_id, "reviewer", {"again": True}))
        open_tasks.append((case.id, task_id))
    size = len(gf.store._take(open_tasks[0][0]).workflow.tasks)  # noqa: SLF001 - a probe
    gf.store.forget(open_tasks[0][0])
    gf.get_case(open_tasks[0][0])  # keep the probe out of the timing: warm the spec again
    return [task_id for _, task_id in open_tasks[1:]], size


def step_seconds(gf: Govflow, cases: int) -> tuple[float, int, float, int]:
    """Mean time of one completed round on small cases (4 rounds gone) and on large ones
    (49 rounds gone), and their sizes; the two take turns, one step each."""
    small, small_size = _looping(gf, rounds=4, cases=cases)
    large, large_size = _looping(gf, rounds=49, cases=cases)
    seconds = {"small": 0.0, "large": 0.0}
    for pair in zip(small, large, strict=True):
        for kind, task_id in zip(seconds, pair, strict=True):
            started = time.perf_counter()
            gf.complete_task(task_id, "reviewer", {"again": True})
            seconds[kind] += time.perf_counter() - started
    return (seconds["small"] / len(small), small_size, seconds["large"] / len(large),
            large_size)


def _open_task(case) -> str:  # type: ignore[no-untyped-def]
    return next(t.id for t in case.tasks if t.state == "open")


BATCH = 20


def _taking_turns(gf: Govflow, cases: int) -> tuple[float, float, float, float]:
    """Cases/s of SpiffWorkflow, of SpiffWorkflow on CaseWorkflow and of govflow, and
    govflow's CPU seconds per case, the three taking turns in batches."""
    spiff_seconds = walk_seconds = govflow_seconds = govflow_cpu = 0.0
    done = 0
    while done < cases:
        batch = min(BATCH, cases - done)
        spiff_seconds += batch / spiff_in_memory(gf, batch)
        walk_seconds += batch / spiff_in_memory(gf, batch, CaseWorkflow)
        cpu = time.process_time()
        govflow_seconds += batch / govflow_on_sqlite(gf, batch)
        govflow_cpu += time.process_time() - cpu
        done += batch
    return (cases / spiff_seconds, cases / walk_seconds, cases / govflow_seconds,
            govflow_cpu / cases)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="govflow bench engine", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=400, help="cases per throughput run")
    parser.add_argument("--runs", type=int, default=5, help="repetitions; medians are printed")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="govflow-bench-") as folder:
        gf = _govflow(Path(folder))
        spiff_in_memory(gf, 50)  # warm up: specs, compiled scripts, calendar cache
        govflow_on_sqlite(gf, 50)
        ratios, spiff_rates, walk_rates, govflow_rates, govflow_cpu = [], [], [], [], []
        for _ in range(args.runs):
            spiff, walk, ours, cpu = _taking_turns(gf, args.cases)
            spiff_rates.append(spiff)
            walk_rates.append(walk)
            govflow_rates.append(ours)
            govflow_cpu.append(cpu)
            ratios.append(ours / spiff)
        small_sizes, large_sizes, step_ratios, small_steps, large_steps = [], [], [], [], []
        for _ in range(args.runs):
            small, small_size, large, large_size = step_seconds(gf, cases=31)
            small_steps.append(small)
            large_steps.append(large)
            small_sizes.append(small_size)
            large_sizes.append(large_size)
            step_ratios.append(large / small)
    print(f"share_request conditional path, {args.cases} cases per run, {args.runs} runs (medians)")
    print(f"  SpiffWorkflow in memory : {statistics.median(spiff_rates):8.0f} cases/s")
    print(f"  same, on CaseWorkflow   : {statistics.median(walk_rates):8.0f} cases/s "
          "(govflow's walk of the task tree, no persistence)")
    print(f"  govflow on SQLite       : {statistics.median(govflow_rates):8.0f} cases/s "
          "(every step committed)")
    print(f"  ratio govflow / Spiff   : {statistics.median(ratios):8.2f}   (target >= 0.5)"
          f"   runs: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"  govflow CPU per case    : {statistics.median(govflow_cpu) * 1000:8.2f} ms "
          "(every thread, the log checkpoints included)")
    print("step cost by case size (one completed round, cached case)")
    print(f"  ~{small_sizes[0]:>3} tasks : {statistics.median(small_steps) * 1000:6.2f} ms")
    print(f"  ~{large_sizes[0]:>3} tasks : {statistics.median(large_steps) * 1000:6.2f} ms")
    print(f"  ratio large / small     : {statistics.median(step_ratios):8.2f}   (target <= 2)"
          f"   runs: {', '.join(f'{r:.2f}' for r in step_ratios)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
