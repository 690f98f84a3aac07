"""``relitigate notices``: list the Slack outbox, preview a notice, deliver pending ones,
re-queue failed ones.

slack_sdk and SQLAlchemy are imported inside the command bodies; litellm and Prefect never
are (a Prefect Secret block is loaded only when one is configured and no token is set).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from registry.notices import OutboxNotice
    from relitigate.settings import Settings


def notices(
    ctx: typer.Context,
    pending: bool = typer.Option(
        False,
        "--pending",
        help="Only notices not sent yet: pending, or sending (claimed by a deliverer).",
    ),
    failed: bool = typer.Option(False, "--failed", help="Only notices that failed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    preview: int | None = typer.Option(
        None, "--preview", metavar="ID", help="Render notice ID as text."
    ),
) -> None:
    """List notices (oldest first), or render one with --preview ID."""
    if ctx.invoked_subcommand is not None:
        return
    if pending and failed:
        raise typer.BadParameter("use --pending or --failed, not both")
    factory = _factory()
    if preview is not None:
        _preview(factory, preview, as_json=as_json)
        return
    from registry.notices import NoticeFilter, list_notices

    status: NoticeFilter | None = "unsent" if pending else "failed" if failed else None
    with factory.begin() as session:
        rows = list_notices(session, status=status)
    if as_json:
        typer.echo(json.dumps([_as_dict(n) for n in rows], indent=2))
        return
    if not rows:
        shown = "pending" if status == "unsent" else status or ""
        typer.echo(f"no {shown} notices".replace("  ", " "))
        return
    for notice in rows:
        typer.echo(_line(notice))


def deliver_cmd(
    limit: int | None = typer.Option(None, "--limit", min=1, help="Send at most N."),
) -> None:
    """Send pending notices to Slack, each exactly once.

    Exit codes:

    0  every due notice was sent, or none was due; also without a Slack
       token (nothing is sent, and the notices stay pending)

    1  a notice failed (fix what `relitigate notices --failed` says, then
       `relitigate notices retry`), or stayed pending because Slack could
       not be reached (deliver again later)

    2  Slack refused the token or it lacks a scope: nothing more was sent,
       every notice stays pending, and one line says which setting to fix
    """
    from relitigate.settings import load_settings
    from tasks.credentials import load_slack_token
    from tasks.notify.delivery import deliver
    from tasks.notify.errors import DeliveryStoppedError

    settings = load_settings()
    factory = _factory(settings)
    token = load_slack_token(
        token=settings.slack_token,
        secret_block=settings.slack_token_block,
    )
    if token is None:
        from registry.notices import list_notices

        with factory.begin() as session:
            waiting = len(list_notices(session, status="unsent"))
        typer.echo(
            "No Slack token: set RELITIGATE_SLACK_TOKEN to a bot token to deliver. "
            f"{waiting} notice(s) stay pending; see them with `relitigate notices --pending`."
        )
        return
    from registry.outbox import NoticeOutbox
    from tasks.notify.slack import SlackClient

    slack = SlackClient(token.value, base_url=settings.slack_base_url, token_setting=token.setting)
    report = deliver(NoticeOutbox(factory), slack, limit=limit)
    for o in report.outcomes:
        if report.stopped and o.detail == report.stopped:
            continue  # said once, below
        where = f" -> {o.channel_id} {o.ts}" if o.result == "sent" else ""
        typer.echo(f"notice {o.notice_id}: {o.result}{where}  {o.detail}".rstrip())
    typer.echo(f"delivery done: {report.summary()}")
    if report.stopped:
        raise DeliveryStoppedError(report.stopped)
    if report.count("failed") or report.count("pending"):
        raise typer.Exit(code=1)


def retry_cmd(
    ids: Annotated[
        list[int] | None,
        typer.Argument(metavar="ID", help="Notices to put back to pending."),
    ] = None,
    failed: bool = typer.Option(False, "--failed", help="Every failed notice."),
) -> None:
    """Put failed notices back to pending, for `notices deliver` to send.

    Fix what each failure's reason names first (the channel, the owner).
    A notice that is not failed is left as it is; an unknown id changes
    nothing and exits 2.
    """
    from registry.notices import requeue_failed
    from tasks.notify.errors import NoticeNotFoundError

    if failed == bool(ids):
        raise typer.BadParameter("name notice IDs or use --failed (one of them)")
    factory = _factory()
    with factory.begin() as session:
        done = requeue_failed(session, None if failed else ids)
        if done.unknown:
            raise NoticeNotFoundError(", ".join(str(i) for i in done.unknown))
    for notice_id, state in sorted(done.not_failed.items()):
        typer.echo(f"notice {notice_id} is {state}, not failed: left as it is")
    listed = f": {', '.join(str(i) for i in done.requeued)}" if done.requeued else ""
    typer.echo(
        f"re-queued {len(done.requeued)} notice(s){listed}; "
        "send them with `relitigate notices deliver`"
    )


def open_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    include_done: bool = typer.Option(False, "--done", help="Include notices marked done."),
) -> None:
    """Decisions whose notice went out, by age and state (open, acknowledge, snooze,
    dispute, done), with their reminder and escalation."""
    from datetime import UTC, datetime

    from registry.notice_actions import open_decisions

    with _factory().begin() as session:
        rows = open_decisions(session, include_done=include_done)
    now = datetime.now(UTC)
    if as_json:
        typer.echo(json.dumps([_open_dict(r, now) for r in rows], indent=2))
        return
    if not rows:
        typer.echo("no open decisions")
        return
    for r in rows:
        d = _open_dict(r, now)
        extra = [f"{k}={d[k]}" for k in ("by", "snoozed_until", "reminded", "escalated") if d[k]]
        typer.echo(
            f"{r.notice_id:>4}  {r.workload or '-':<20} {r.quarter} {r.kind:<12} "
            f"{r.state:<11} {d['age_days']:>5.1f} days  " + "  ".join(extra)
        )


def remind_cmd(
    now: str | None = typer.Option(
        None, "--now", help="Pretend it is this time (ISO 8601, UTC if no zone)."
    ),
    send: bool = typer.Option(True, "--deliver/--no-deliver", help="Send them now."),
) -> None:
    """Enqueue the reminders and escalations due (retire notices nobody acknowledged
    within RELITIGATE_REMINDER_DAYS, then RELITIGATE_ESCALATION_DAYS more), each once."""
    from datetime import UTC, datetime

    from tasks.context import opened
    from tasks.notice_actions import bot_client, deliver_now, enqueue_due_reminders

    when = None
    if now is not None:
        try:
            when = datetime.fromisoformat(now)
        except ValueError:
            raise typer.BadParameter(f"--now {now!r} is not an ISO 8601 time") from None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
    with opened() as ctx:
        done = enqueue_due_reminders(ctx, now=when)
        typer.echo(
            f"enqueued {len(done.reminders)} reminder(s), {len(done.escalations)} escalation(s)"
        )
        slack = bot_client(ctx) if send else None
        if slack is not None:
            typer.echo(f"delivery: {deliver_now(ctx, slack)}")


def _open_dict(r: Any, now: Any) -> dict[str, Any]:
    return {
        "notice_id": r.notice_id,
        "workload": r.workload,
        "quarter": r.quarter,
        "kind": r.kind,
        "state": r.state,
        "age_days": round((now - r.sent_at).total_seconds() / 86400, 1),
        "by": r.state_by,
        "snoozed_until": r.snoozed_until,
        "reminded": r.reminded_at.isoformat(timespec="seconds") if r.reminded_at else None,
        "escalated": r.escalated_at.isoformat(timespec="seconds") if r.escalated_at else None,
    }


def register(app: typer.Typer) -> None:
    """Attach ``notices`` (list, ``--preview``), ``notices deliver`` and ``notices retry``,
    ``notices open`` and ``notices remind``."""
    notices_app = typer.Typer(
        help="The Slack outbox: list, preview, deliver and retry re-litigation notices.",
        no_args_is_help=False,
    )
    notices_app.callback(invoke_without_command=True)(notices)
    notices_app.command("deliver")(deliver_cmd)
    notices_app.command("retry")(retry_cmd)
    notices_app.command("open")(open_cmd)
    notices_app.command("remind")(remind_cmd)
    app.add_typer(notices_app, name="notices")


def _factory(settings: Settings | None = None) -> sessionmaker[Session]:
    """The registry, checked: reachable, initialised and at this code's schema (else one
    DatabaseError line saying to run `relitigate init`)."""
    from tasks.context import open_context

    return open_context(settings).sessions


def _preview(factory: sessionmaker[Session], notice_id: int, *, as_json: bool) -> None:
    from registry.notices import get_notice
    from tasks.notify.errors import NoticeNotFoundError
    from tasks.notify.message import payload_as_text

    with factory.begin() as session:
        notice = get_notice(session, notice_id)
    if notice is None:
        raise NoticeNotFoundError(str(notice_id))
    if as_json:
        typer.echo(json.dumps(notice.payload, indent=2, ensure_ascii=False))
        return
    typer.echo(
        f"notice {notice.id} · {notice.kind} · {notice.workload or 'quarter digest'} · "
        f"{notice.quarter} · {notice.state}"
    )
    typer.echo("")
    typer.echo(payload_as_text(notice.payload), nl=False)


def _line(n: OutboxNotice) -> str:
    where = n.channel_id or n.destination or "owner"
    parts = [
        f"{n.id:>4}",
        f"{n.workload or ('(digest)' if n.kind == 'digest' else f'({n.kind})'):<20}",
        n.quarter,
        f"{n.kind:<12}",
        f"{n.state:<8}",
        f"attempts={n.attempts}",
        f"to={where}",
    ]
    if n.state == "sending" and n.claimed_at:
        parts.append(f"claimed {n.claimed_at.isoformat(timespec='seconds')}")
    if n.state == "failed" and n.last_error:
        parts.append(f"reason: {n.last_error}")
    elif n.last_error:
        parts.append(f"last error: {n.last_error}")
    return "  ".join(parts)


def _as_dict(n: OutboxNotice) -> dict[str, Any]:
    return {
        "id": n.id,
        "workload": n.workload,
        "quarter": n.quarter,
        "kind": n.kind,
        "status": n.state,
        "destination": n.destination,
        "channel_id": n.channel_id,
        "ts": n.ts,
        "thread_ts": n.thread_ts,
        "attempts": n.attempts,
        "last_error": n.last_error,
        "created_at": n.created_at.isoformat(),
        "claimed_at": n.claimed_at.isoformat() if n.claimed_at else None,
        "sent_at": n.sent_at.isoformat() if n.sent_at else None,
        "text": n.payload.get("text"),
    }
