"""``relitigate notices``: list the Slack outbox, preview a notice, deliver pending ones.

slack_sdk and SQLAlchemy are imported inside the command bodies; litellm and Prefect never
are (a Prefect Secret block is loaded only when one is configured and no token is set).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from registry.notices import OutboxNotice
    from relitigate.settings import Settings


def register(app: typer.Typer) -> None:
    """Attach ``notices`` (list, ``--preview``) and ``notices deliver`` to ``app``."""
    notices_app = typer.Typer(
        help="The Slack outbox: list, preview and deliver re-litigation notices.",
        no_args_is_help=False,
    )

    @notices_app.callback(invoke_without_command=True)
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

    @notices_app.command("deliver")
    def deliver_cmd(
        limit: int | None = typer.Option(None, "--limit", min=1, help="Send at most N."),
    ) -> None:
        """Send pending notices to Slack, each exactly once."""
        from relitigate.settings import load_settings
        from tasks.notify.delivery import deliver, load_token

        settings = load_settings()
        factory = _factory(settings)
        token = load_token(
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

        slack = SlackClient(token, base_url=settings.slack_base_url)
        report = deliver(NoticeOutbox(factory), slack, limit=limit)
        for o in report.outcomes:
            where = f" -> {o.channel_id} {o.ts}" if o.result == "sent" else ""
            typer.echo(f"notice {o.notice_id}: {o.result}{where}  {o.detail}".rstrip())
        typer.echo(f"delivery done: {report.summary()}")

    app.add_typer(notices_app, name="notices")


def _factory(settings: Settings | None = None) -> sessionmaker[Session]:
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from registry.db import make_engine, session_factory
    from relitigate.settings import load_settings
    from tasks.notify.errors import NoticeError

    settings = settings or load_settings()
    url = settings.resolved_database_url()
    engine = make_engine(url)
    if not inspect(engine).has_table("notices"):
        shown = make_url(url).render_as_string(hide_password=True)
        raise NoticeError(f"the registry at {shown} has no notices table: run `relitigate init`")
    return session_factory(engine)


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
        f"{n.workload or '(digest)':<20}",
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
