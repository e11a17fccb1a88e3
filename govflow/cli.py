"""The `govflow` command: set up, deploy, work cases and run the scheduler from a shell.

Every command prints one clear line and exits non-zero on error; `--json` prints
machine-readable output instead. GOVFLOW_DATABASE_URL picks the database and
GOVFLOW_NOW makes a command act as of that moment.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from engine.cases.govflow import WORKFLOWS, Govflow
from engine.errors import EngineError
from engine.time.calendar import load_year_file
from engine.time.clock import SHANGHAI, parse_moment


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _local(moment: dt.datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else "-"


def command(group: click.Group, name: str | None = None) -> Callable[..., Any]:
    """Register a command with --json, one Govflow, and one-line errors."""

    def decorate(func: Callable[..., Any]) -> Any:
        @group.command(name or func.__name__.replace("_", "-"))
        @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
        @functools.wraps(func)
        def wrapper(as_json: bool, **kwargs: Any) -> None:
            gf = _govflow()
            try:
                result = func(gf, **kwargs)
            except (EngineError, ValueError) as exc:
                _fail(exc, as_json)
            finally:  # a command run in-process (tests, scripts) leaves no connection open
                gf.db.dispose()
            if as_json:
                click.echo(json.dumps(_jsonable(result), ensure_ascii=False, indent=2))
            elif result is not None:
                click.echo(_text(result))

        return wrapper

    return decorate


def _fail(exc: Exception, as_json: bool) -> None:
    payload = exc.to_dict() if isinstance(exc, EngineError) else {
        "code": "invalid_input", "message": str(exc)}
    if as_json:
        click.echo(json.dumps({"error": _jsonable(payload)}, ensure_ascii=False))
    else:
        click.echo(f"error: {payload['message']}", err=True)
    sys.exit(1)


def _text(result: Any) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, list):
        return "\n".join(_text(item) for item in result)
    return json.dumps(_jsonable(result), ensure_ascii=False, indent=2)


def _govflow() -> Govflow:
    return Govflow.open()


def _json_data(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--data is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict):
        raise ValueError("--data must be a JSON object")
    return data


@click.group()
def main() -> None:
    """govflow: BPMN procedures for public data, on Chinese working days."""
    from govflow.logs import configure_logging

    try:
        configure_logging()
    except ValueError as exc:
        _fail(exc, as_json=False)


@command(main)
@click.option("--demo", is_flag=True, help="Add demo groups and users.")
def init(gf: Govflow, demo: bool) -> Any:
    """Create or upgrade the database and deploy workflows/*.bpmn."""
    gf.init_schema()
    deployed = gf.deploy_directory(WORKFLOWS, by="govflow init")
    lines = [f"database ready: {gf.db.url}"] + [
        f"{d.process_id} v{d.version} ({'deployed' if d.created else 'unchanged'})"
        for d in deployed]
    if demo:
        from govflow.demo import seed_demo

        users = seed_demo(gf)
        lines += ["demo sign-ins (user / password — role):"] + [
            f"  {user} / {password} — {role}" for user, password, role in users]
    return "\n".join(lines)


@command(main)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--user", default=None, help="Who deploys (recorded with the version).")
def deploy(gf: Govflow, paths: tuple[str, ...], user: str | None) -> Any:
    """Deploy BPMN files and folders together, all or nothing; each changed process
    becomes a new version. Decision tables (.dmn) are read from next to each file."""
    results = gf.deploy_paths([Path(p) for p in paths], by=user)
    return [f"{r.process_id} v{r.version} ({'deployed' if r.created else 'unchanged'})"
            for r in results]


@command(main)
@click.argument("process_id")
@click.option("--data", "data", default="{}", help="Initial case data as a JSON object.")
@click.option("--user", default=None)
@click.option("--received-at", default=None,
              help="Administrators only: when a paper letter was received (ISO, with zone).")
@click.option("--received-reason", default=None, help="Why the receipt time differs.")
def start(gf: Govflow, process_id: str, data: str, user: str | None,
          received_at: str | None, received_reason: str | None) -> Any:
    """Start a case and print its id; govflow records the time of receipt."""
    case = gf.start_case(process_id, _json_data(data), user=user,
                         received_at=parse_moment(received_at) if received_at else None,
                         received_reason=received_reason)
    return case if _as_json() else str(case.id)


@command(main)
@click.option("--user", required=True)
@click.option("--view", type=click.Choice(["all", "mine", "groups", "overdue"]), default="all")
@click.option("--process", "process_id", default=None)
@click.option("--page", default=1, type=int)
def tasks(gf: Govflow, user: str, view: str, process_id: str | None, page: int) -> Any:
    """List the open tasks a user may work on, soonest due first."""
    found = gf.inbox(user, view=view, process_id=process_id, page=page)
    if _as_json():
        return found
    if not found.tasks:
        return "no open tasks"
    rows = [f"{t.id}  case {t.case_id}  {t.title}  due {_local(t.due_at)}"
            f"{' (provisional)' if t.due_provisional else ''}  {t.assignee or 'unclaimed'}"
            for t in found.tasks]
    return "\n".join(rows + [f"{found.total} task(s)"])


@command(main)
@click.argument("task_id")
@click.option("--user", required=True)
def claim(gf: Govflow, task_id: str, user: str) -> Any:
    """Claim a task."""
    task = gf.claim_task(task_id, user)
    return f"task {task.id} claimed by {task.assignee}"


@command(main)
@click.argument("task_id")
@click.option("--user", required=True)
def unclaim(gf: Govflow, task_id: str, user: str) -> Any:
    """Give a claimed task back to its groups."""
    gf.unclaim_task(task_id, user)
    return f"task {task_id} released"


@command(main)
@click.argument("task_id")
@click.option("--user", required=True)
@click.option("--data", "data", default="{}", help="The task's form data as a JSON object.")
def complete(gf: Govflow, task_id: str, user: str, data: str) -> Any:
    """Complete a task with form data."""
    case = gf.complete_task(task_id, user, _json_data(data))
    return f"task {task_id} completed; case {case.id} is {case.status}"


@command(main)
@click.argument("case_id", type=int)
@click.option("--user", required=True)
@click.option("--data", "data", default="{}", help="Corrected data for the failed step.")
def retry(gf: Govflow, case_id: int, user: str, data: str) -> Any:
    """Retry a case with an incident after correcting its data."""
    case = gf.retry_case(case_id, user, _json_data(data))
    return f"case {case.id} is {case.status}"


@command(main)
@click.argument("case_id", type=int)
@click.option("--user", required=True, help="The applicant withdrawing the case.")
@click.option("--reason", required=True)
def withdraw(gf: Govflow, case_id: int, user: str, reason: str) -> Any:
    """撤回: the applicant withdraws a case not yet decided."""
    case = gf.withdraw_case(case_id, user, reason)
    return case if _as_json() else f"case {case.id} is {case.status}"


@command(main, "return")
@click.argument("task_id")
@click.option("--to", "to", required=True, help="The earlier step: element id or task id.")
@click.option("--user", required=True)
@click.option("--reason", required=True)
def return_task(gf: Govflow, task_id: str, to: str, user: str, reason: str) -> Any:
    """退回: send the case back to an earlier completed step."""
    case = gf.return_task(task_id, user, to, reason)
    if _as_json():
        return case
    reopened = [t for t in case.tasks if t.state == "open" and t.element_id == to]
    return f"case {case.id} sent back to {to}" + (
        f"; task {reopened[0].id} due {_local(reopened[0].due_at)}" if reopened else "")


@command(main)
@click.argument("task_id")
@click.option("--to", "to_user", required=True, help="Who works the task for you.")
@click.option("--user", required=True, help="The task's holder.")
@click.option("--reason", required=True)
def delegate(gf: Govflow, task_id: str, to_user: str, user: str, reason: str) -> Any:
    """委派: hand a claimed task to someone who works it and hands it back."""
    task = gf.delegate_task(task_id, user, to_user, reason)
    return task if _as_json() else f"task {task.id} delegated to {task.assignee}"


@command(main)
@click.argument("task_id")
@click.option("--to", "to_user", required=True, help="The signer to add.")
@click.option("--position", type=click.Choice(["before", "after"]), required=True,
              help="before: they sign first and it comes back; after: they submit last.")
@click.option("--user", required=True, help="The task's holder.")
@click.option("--note", required=True, help="Why (after: your own opinion).")
def add_signer(gf: Govflow, task_id: str, to_user: str, position: str, user: str,
               note: str) -> Any:
    """加签: add a signer before or after you."""
    task = gf.add_signer(task_id, user, to_user, position, note)
    return task if _as_json() else f"task {task.id} now with {task.assignee} ({position})"


@command(main)
@click.argument("task_id")
@click.option("--user", required=True, help="The delegate.")
@click.option("--note", required=True, help="Your opinion for the delegator.")
def resolve(gf: Govflow, task_id: str, user: str, note: str) -> Any:
    """Hand a delegated task back to whoever delegated it."""
    task = gf.resolve_delegation(task_id, user, note)
    return task if _as_json() else f"task {task.id} handed back to {task.assignee}"


@command(main)
@click.argument("case_id", type=int)
@click.option("--to", "to", multiple=True, required=True, metavar="user:NAME|group:NAME",
              help="Who receives the copy (repeatable).")
@click.option("--user", required=True)
@click.option("--note", default="")
def copy(gf: Govflow, case_id: int, to: tuple[str, ...], user: str, note: str) -> Any:
    """抄送: copy a case to users or groups for information."""
    fresh = gf.copy_case(case_id, user, list(to), note)
    return fresh if _as_json() else f"case {case_id} copied to {', '.join(fresh)}"


@command(main)
@click.option("--user", required=True)
def copies(gf: Govflow, user: str) -> Any:
    """List the cases copied to a user or their groups, newest first."""
    found = gf.copies_for(user)
    if _as_json():
        return found
    return "\n".join(f"{c.number}  {c.process_id}  {c.status}  from {c.copied_by} "
                     f"{_local(c.copied_at)}  {c.note or ''}".rstrip()
                     for c in found) or "no copied cases"


def _as_json() -> bool:
    return bool(click.get_current_context().params.get("as_json"))


@command(main)
@click.argument("name")
@click.option("--data", "data", default="{}", help="The message's data as a JSON object.")
@click.option("--case", "case_id", type=int, default=None, help="Deliver to this case.")
@click.option("--correlation", "pairs", multiple=True, metavar="KEY=VALUE",
              help="A correlation value the receiving case must hold (repeatable).")
@click.option("--user", default=None, help="Who sends (recorded in the audit trail).")
def message(gf: Govflow, name: str, data: str, case_id: int | None, pairs: tuple[str, ...],
            user: str | None) -> Any:
    """Deliver a message to the one case waiting for it, or start a case on it."""
    if case_id is not None and pairs:
        raise ValueError("give --case or --correlation, not both")
    correlation = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--correlation {pair!r} is not KEY=VALUE")
        correlation[key.strip()] = value
    done = gf.send_message(name, _json_data(data), case_id=case_id, correlation=correlation,
                           user=user)
    if _as_json():
        return done
    return (f"{'started' if done.started else 'delivered to'} case {done.case_id} at "
            f"{done.element_id}; the case is {done.status}")


@command(main, "case")
@click.argument("case_id", type=int)
def show_case(gf: Govflow, case_id: int) -> Any:
    """Show a case: status, data, open tasks, timers and audit events."""
    case = gf.get_case(case_id)
    if _as_json():
        return case
    lines = [f"case {case.id}  {case.process_id} v{case.version}  {case.status}",
             f"started {_local(case.started_at)} by {case.started_by or '-'}"]
    if case.incident:
        lines.append(f"incident at {case.incident['element_id']}: {case.incident['message']}")
    lines.append("data: " + json.dumps(case.data, ensure_ascii=False, sort_keys=True))
    lines += [f"task {t.id}  {t.title}  {t.state}  due {_local(t.due_at)}"
              f"{' (provisional)' if t.due_provisional else ''}  {t.assignee or ''}".rstrip()
              for t in case.tasks]
    lines += [f"timer {t.element_id}  fires {_local(t.fire_at)}"
              f"{' (provisional)' if t.provisional else ''}  {t.rule or ''}".rstrip()
              for t in case.timers]
    lines += [f"#{e.seq} {_local(e.at)} {e.actor} {e.action}"
              f"{' ' + e.element_id if e.element_id else ''}{' [' + e.rule + ']' if e.rule else ''}"
              for e in case.events]
    return "\n".join(lines)


@command(main)
def tick(gf: Govflow) -> Any:
    """Run every scheduled job once and exit."""
    from govflow.scheduler import run_jobs_once

    results = run_jobs_once(gf)
    if _as_json():
        return results
    firing = results["fire_due_timers"]
    recomputed = results["recompute_provisional_deadlines"]
    missing = results["check_calendar_coverage"]
    return (f"fired {len(firing.fired)} timer(s), {len(firing.conflicts)} deferred"
            + (f", {len(firing.incidents)} case(s) now have an incident: "
               + ", ".join(str(c) for c in firing.incidents) if firing.incidents else "")
            + "; "
            f"recomputed {recomputed['tasks']} due date(s) and {recomputed['timers']} timer(s)"
            + (f"; the holidays of {missing} are not entered yet" if missing else "")
            + f"; queued {results['send_due_reminders']['sent']} reminder(s)"
            + f"; sent {results['dispatch_outbox'].sent} message(s),"
            f" {results['dispatch_outbox'].retried} to retry, {results['dispatch_outbox'].dead}"
            " dead-lettered")


@command(main)
@click.option("--status", help="Only messages in this state: pending, sending, sent or dead.")
@click.option("--case", "case_id", type=int, help="Only messages about this case.")
@click.option("--resend", type=int, metavar="ID", help="Queue a dead or sent message again.")
@click.option("--limit", type=int, default=200, show_default=True)
def outbox(gf: Govflow, status: str | None, case_id: int | None, resend: int | None,
           limit: int) -> Any:
    """List notifications: kind, channel, recipient, case, task, rung, status, attempts, error."""
    if resend is not None:
        message = gf.resend_message(resend)
        return message if _as_json() else \
            f"message #{message.id} queued again"
    messages = gf.outbox_messages(status, limit=limit, case_id=case_id)
    if _as_json():
        return messages
    if not messages:
        return "no messages"
    return "\n".join(
        f"#{m.id} {m.status:<7} {m.kind:<16} {m.channel:<7} {m.recipient}"
        f"{' case ' + str(m.case_id) if m.case_id else ''}"
        f"{' task ' + m.task_id[:8] if m.task_id else ''}{' rung ' + m.rung if m.rung else ''}"
        f" attempts {m.attempts}{' duplicates ' + str(m.duplicates) if m.duplicates else ''}"
        f"{' error: ' + m.last_error if m.last_error else ''}" for m in messages)


@main.group()
def calendar() -> None:
    """Working-day calendar: explain deadlines, enter further years."""


@command(calendar)
@click.argument("start")
@click.argument("working_days", type=int)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh")
def explain(gf: Govflow, start: str, working_days: int, lang: str) -> Any:
    """Explain the deadline N working days after START (a date or ISO datetime)."""
    received = dt.date.fromisoformat(start) if len(start) == 10 else parse_moment(start)
    deadline = gf.deadline(received, working_days)
    if _as_json():
        return deadline.to_dict()
    return "\n".join(deadline.explain(lang))


@command(calendar, "add-year")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", default=None)
def add_year(gf: Govflow, file: str, user: str | None) -> Any:
    """Enter a year's holidays and make-up working days from a JSON file."""
    table = load_year_file(file)
    report = gf.add_calendar_year(table, by=user)
    return (f"calendar {table.year} entered; recomputed {report['tasks']} due date(s) "
            f"and {report['timers']} timer(s)")


@main.group()
def catalog() -> None:
    """The resource catalog (政务数据资源目录), kept by the data authority."""


@command(catalog, "import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", required=True, help="A member of the data authority.")
@click.option("--reason", default=None, help="Why the catalog changes (kept with the version).")
def catalog_import(gf: Govflow, file: str, user: str, reason: str | None) -> Any:
    """Add or replace the datasets of a CSV or JSON file: all of them, or none."""
    version = gf.import_catalog(file, by=user, reason=reason)
    if _as_json():
        return {"version": version.version if version else None,
                "changed": [c["id"] for c in version.changes] if version else []}
    if version is None:
        return "catalog unchanged"
    return f"catalog version {version.version}: {len(version.changes)} dataset(s) changed"


@command(catalog, "list")
@click.option("--search", default=None, help="Part of a dataset's id or name.")
def catalog_list(gf: Govflow, search: str | None) -> Any:
    """The datasets of the catalog."""
    found = gf.catalog(search)
    if _as_json():
        return [{**d.record(), "version": d.version} for d in found]
    if not found:
        return "the catalog has no datasets" + (" matching that" if search else "")
    return "\n".join(f"{d.id}  {d.name}  {d.provider_dept}  {d.share_class}  {d.open_class}"
                     f"  {'、'.join(d.data_items)}" for d in found)


@main.group()
def audit() -> None:
    """The audit trail."""


@command(audit)
def verify(gf: Govflow) -> Any:
    """Check every case's keyed chain, the decisions it records and the signed checkpoints;
    exit non-zero if anything was altered."""
    problems = gf.verify_audit()
    if problems:
        raise EngineError("audit trail altered: " + "; ".join(problems), problems=problems)
    return "audit trail intact"


@command(audit)
def checkpoint(gf: Govflow) -> Any:
    """Anchor the heads of the audit chains that grew since the last checkpoint."""
    made = gf.checkpoint_audit()
    if made is None:
        return "no audit trail grew since the last checkpoint"
    return f"audit checkpoint {made.id} anchors {made.cases} cases"


@command(audit)
@click.option("--user", required=True, help="Who reseals (recorded in every case's trail).")
def reseal(gf: Govflow, user: str) -> Any:
    """Once, after upgrading a database written before the audit key existed: re-chain
    its unkeyed SHA-256 trail under the key. Refused if any part is keyed or damaged."""
    counted = gf.reseal_audit(user)
    return f"resealed the audit trails of {len(counted)} cases " \
           f"({sum(counted.values())} events) under the audit key"


@command(main, "backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup_database(gf: Govflow, file: Path) -> Any:
    """Copy the embedded SQLite database to FILE while govflow runs (online backup)."""
    from engine.store.backup import backup

    return f"backup written to {backup(gf.db, file)}"


@command(main, "restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def restore_database(gf: Govflow, file: Path) -> Any:
    """Replace the embedded SQLite database with the backup FILE (stop the server and the
    scheduler first); refuses a file that is not a govflow database govflow knows."""
    from engine.store import backup, checkpoints

    revision = backup.restore(gf.db, file)
    aside = backup.set_aside(checkpoints.log_path(gf.db.url))
    return f"restored {file} (schema {revision}), upgraded to the current schema" + (
        f"; the previous audit checkpoint log is now {aside}" if aside else "")


@main.command()
def scheduler() -> None:
    """Run the scheduler in this process until stopped."""
    from govflow.scheduler import build_scheduler

    click.echo("govflow scheduler running; Ctrl+C stops it")
    build_scheduler(_govflow(), blocking=True).start()


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--workers", default=1, type=click.IntRange(1, 64),
              help="Worker processes; 2 or more run under gunicorn with the scheduler "
                   "in a process of its own.")
@click.option("--threads", default=None, type=click.IntRange(1, 64),
              help="Threads per worker process (8 with one worker, else 4).")
@click.option("--no-scheduler", is_flag=True, help="Leave timers to a separate scheduler.")
def serve(host: str, port: int, workers: int, threads: int | None, no_scheduler: bool) -> None:
    """Serve the web app, with the scheduler in-process unless --no-scheduler."""
    from govflow import server

    if workers > 1:
        click.echo(f"govflow is serving on http://{host}:{port}/ with {workers} workers")
        server.serve_workers(host, port, workers, threads or server.THREADS,
                             scheduler=not no_scheduler)
        return
    from waitress import serve as waitress_serve

    from govflow.scheduler import build_scheduler
    from web import create_app

    app = create_app()
    gf = app.extensions["govflow"]
    if not no_scheduler:
        build_scheduler(gf, blocking=False).start()
    click.echo(f"govflow is serving on http://{host}:{port}/")
    waitress_serve(app, host=host, port=port, threads=threads or 8)


@main.group()
def bench() -> None:
    """Benchmarks (figures go into the README's Performance section)."""


@bench.command("engine", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench_engine(args: tuple[str, ...]) -> None:
    """SpiffWorkflow in memory versus govflow on SQLite, and step cost by case size."""
    from bench.engine import main as run

    sys.exit(run(list(args)))


@bench.command("inbox", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench_inbox(args: tuple[str, ...]) -> None:
    """Inbox query and page latency at 10k and 1M tasks."""
    from bench.inbox import main as run

    sys.exit(run(list(args)))


@bench.command("http", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench_http(args: tuple[str, ...]) -> None:
    """The JSON API under load from real server processes, on SQLite and PostgreSQL."""
    from bench.http import main as run

    sys.exit(run(list(args)))


@bench.command("reminders", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench_reminders(args: tuple[str, ...]) -> None:
    """Reminder sweep time with 100k open tasks."""
    from bench.reminders import main as run

    sys.exit(run(list(args)))


@bench.command("scheduler", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench_scheduler(args: tuple[str, ...]) -> None:
    """Schedulers: two at once, one killed, a backlog drained, a killed load of cases."""
    from bench.scheduler import main as run

    sys.exit(run(list(args)))


# -- people: users, groups and memberships -------------------------------------------------

def _people(gf: Govflow) -> Any:
    from engine.people.admin import People

    return People(gf.db, gf.now)


def _user_line(user: Any) -> str:
    state = "active" if user.is_active else "deactivated"
    return f"{user.username}  {user.display_name}  {state}  {','.join(user.groups) or '-'}"


def _group_line(group: Any) -> str:
    return (f"{group.name}  {group.title}  {group.kind}  supervisor {group.supervisor or '-'}"
            f"  members {','.join(group.members) or '-'}")


def _password(given: str | None) -> str:
    """The password from --password, else from the GOVFLOW_PASSWORD variable, else asked."""
    import os

    if given:
        return given
    if os.environ.get("GOVFLOW_PASSWORD"):
        return os.environ["GOVFLOW_PASSWORD"]
    if not sys.stdin.isatty():
        raise ValueError("give the password with --password or GOVFLOW_PASSWORD")
    return str(click.prompt("password", hide_input=True, confirmation_prompt=True))


@main.group()
def user() -> None:
    """Users: add, list, deactivate, set a password."""


@command(user, "add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The name people see.")
@click.option("--group", "groups_", multiple=True, help="A group to join (repeatable).")
@click.option("--password", default=None, help="Else GOVFLOW_PASSWORD, else asked.")
def user_add(gf: Govflow, username: str, display_name: str, groups_: tuple[str, ...],
             password: str | None) -> Any:
    """Create a user."""
    added = _people(gf).add_user(username, display_name, _password(password), groups_)
    return added if _as_json() else (
        f"user {added.username} added")


@command(user, "list")
def user_list(gf: Govflow) -> Any:
    """List every user with their groups."""
    found = _people(gf).users()
    return found if _as_json() else (
        "\n".join(_user_line(u) for u in found) or "no users")


@command(user, "deactivate")
@click.argument("username")
def user_deactivate(gf: Govflow, username: str) -> Any:
    """Deactivate a user: no sign-in, no API tokens; the history keeps their name."""
    done = _people(gf).set_active(username, False)
    return done if _as_json() else (
        f"user {done.username} deactivated")


@command(user, "passwd")
@click.argument("username")
@click.option("--password", default=None, help="Else GOVFLOW_PASSWORD, else asked.")
def user_passwd(gf: Govflow, username: str, password: str | None) -> Any:
    """Set a new password for a user."""
    done = _people(gf).set_password(username, _password(password))
    return done if _as_json() else (
        f"password of {done.username} changed")


@main.group()
def group() -> None:
    """Groups: departments and roles."""


@command(group, "add")
@click.argument("name")
@click.option("--title", required=True, help="The name people see.")
@click.option("--kind", type=click.Choice(["department", "role"]), default="department")
@click.option("--supervisor", default=None, help="The user who answers for the group.")
def group_add(gf: Govflow, name: str, title: str, kind: str, supervisor: str | None) -> Any:
    """Create a group."""
    added = _people(gf).add_group(name, title, kind, supervisor)
    return added if _as_json() else (
        f"group {added.name} added")


@command(group, "list")
def group_list(gf: Govflow) -> Any:
    """List every group with its supervisor and active members."""
    found = _people(gf).groups()
    return found if _as_json() else (
        "\n".join(_group_line(g) for g in found) or "no groups")


@main.group()
def member() -> None:
    """Memberships: who belongs to which group."""


@command(member, "add")
@click.argument("username")
@click.argument("group_name")
def member_add(gf: Govflow, username: str, group_name: str) -> Any:
    """Add a user to a group."""
    found = _people(gf).add_member(username, group_name)
    return found if _as_json() else (
        f"{username} is a member of {found.name}")


@command(member, "remove")
@click.argument("username")
@click.argument("group_name")
def member_remove(gf: Govflow, username: str, group_name: str) -> Any:
    """Remove a user from a group."""
    found = _people(gf).remove_member(username, group_name)
    return found if _as_json() else (
        f"{username} left {found.name}")
