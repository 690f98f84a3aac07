"""Proposal commands: ``relitigate propose FILE`` checks proposed workloads against the
decision frame before anything is built; ``relitigate proposals list|promote`` shows them and
turns one into a production workload, its evidence kept.

The engines, the registry and litellm are imported inside the command bodies only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from registry.proposal_file import ProposalSpec

proposals_app = typer.Typer(
    name="proposals",
    help="Proposals checked with `relitigate propose`: list them, promote one to a workload.",
    no_args_is_help=True,
)


def _stored_spec(spec: ProposalSpec, base: Path) -> dict[str, Any]:
    """The proposal as the registry keeps it: the workload it would become (paths absolute)
    and the proposal-only settings."""
    from registry.measured_sources import stored_sample, stored_volume

    entry = spec.workload_entry()
    path = Path(spec.eval_set.path)
    entry["eval_set"]["path"] = str((path if path.is_absolute() else base / path).resolve())
    if not isinstance(spec.volume_per_day, int):
        entry["volume_per_day"] = stored_volume(spec.volume_per_day)
    if spec.production_sample is not None:
        entry["production_sample"] = stored_sample(spec.production_sample)
    extra = spec.model_dump(
        mode="json", include={"prompt_variants", "quality_target", "fine_tune_cost_per_call_usd",
                              "build"})  # fmt: skip
    return {"workload": entry, "proposal": extra}


def propose(
    file: Annotated[Path, typer.Argument(help="The proposal file (YAML, see docs).")],
    name: Annotated[
        list[str] | None, typer.Option(help="Check only this proposal (repeatable).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the memos (default: the data folder's proposals/)."),
    ] = None,
) -> None:
    """Check proposed workloads against the frame BEFORE any engineering work.

    Runs every buy alternative with every listed prompt variant (and a candidate checkpoint,
    if named) head-to-head on the eval set, checks volume, stability, examples and the
    break-even volume, writes a buy / fine-tune / build memo per proposal and records it in
    the registry apart from production workloads. Calls the providers (spends money).
    """
    from registry.errors import NotFoundError
    from registry.proposal_file import load_proposal_file
    from registry.proposals import save_proposal
    from relitigate.cli.registry_cmds import open_checked_registry
    from relitigate.settings import load_settings
    from tasks.proposal_run import check_proposal

    proposals = load_proposal_file(file).proposals
    chosen = [p for p in proposals if not name or p.name in name]
    missing = sorted(set(name or ()) - {p.name for p in proposals})
    if missing:
        raise NotFoundError(f"{file}: no proposal named {', '.join(missing)}")
    factory = open_checked_registry()  # refuse before spending anything
    folder = out or load_settings().data_dir / "proposals"
    for spec in chosen:
        check = check_proposal(spec, base=file.parent)
        memo_path = folder / spec.name / "memo.md"
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        memo_path.write_text(check.memo, encoding="utf-8")
        with factory.begin() as session:
            save_proposal(
                session, name=spec.name, case=spec.case.value,
                spec=_stored_spec(spec, file.parent),
                recommendation=check.outcome.recommendation, evidence=check.evidence,
                memo=check.memo,
            )  # fmt: skip
        typer.echo(f"{spec.name}: {check.outcome.recommendation} (memo {memo_path})")


@proposals_app.command("list")
def list_cmd() -> None:
    """Every recorded proposal, its recommendation and whether it was promoted."""
    from registry.proposals import list_proposals
    from relitigate.cli.registry_cmds import open_checked_registry

    with open_checked_registry().begin() as session:
        rows = list_proposals(session)
        if not rows:
            typer.echo("no proposals: run `relitigate propose FILE`")
        for row in rows:
            promoted = f", promoted {row.promoted_at:%Y-%m-%d}" if row.promoted_at else ""
            typer.echo(f"{row.name}: {row.recommendation} ({row.case}{promoted})")


@proposals_app.command("promote")
def promote(
    name: Annotated[str, typer.Argument(help="The proposal to promote.")],
    workloads: Annotated[
        Path, typer.Option("--workloads", help="The workloads file (relitigate.yaml).")
    ],
    force: Annotated[
        bool, typer.Option(help="Promote although the memo does not recommend a fine-tune.")
    ] = False,
) -> None:
    """Add the proposal to the workloads file as a workload, sync, and link its evidence.

    The workload is appended at the end of the file's ``workloads:`` list (the file's text
    and comments are kept); a file where ``workloads:`` is not the last top-level key is left
    alone and the entry is printed to paste instead.
    """
    from registry.errors import InvalidValueError
    from registry.proposals import get_proposal, mark_promoted
    from registry.sync import apply_sync, prepare_sync
    from relitigate.cli.catalog_cmds import announce_causes, price_map_facts
    from relitigate.cli.registry_cmds import _engine_check, evalset_limits, open_checked_registry

    factory = open_checked_registry()
    with factory.begin() as session:
        row = get_proposal(session, name)
        entry, recommendation = dict(row.spec["workload"]), row.recommendation
    if entry.get("fine_tune") is None:
        raise InvalidValueError(
            f"proposal {name!r} has no fine-tune: add the candidate checkpoint to the proposal, "
            "check it again with `relitigate propose`, then promote it"
        )
    if recommendation != "fine_tune" and not force:
        raise InvalidValueError(
            f"proposal {name!r} is recommended {recommendation!r}, not a fine-tune: read its "
            "memo; --force promotes it anyway"
        )
    _append_workload(workloads, name, entry)
    # the whole file is synced, as `relitigate sync` does it: price-map facts, and any trigger
    # cause the file's other changes record is announced
    plan = prepare_sync(
        workloads, limits=evalset_limits(), check=_engine_check, facts=price_map_facts
    )
    with factory.begin() as session:
        report = apply_sync(session, plan)
        mark_promoted(session, get_proposal(session, name), name)
    triggers = announce_causes(report.causes)
    typer.echo(
        f"promoted {name} to a workload in {workloads}; its proposal evidence is kept{triggers}"
    )


def _append_workload(path: Path, name: str, entry: dict[str, Any]) -> None:
    import yaml

    from registry.errors import InvalidValueError
    from registry.workload_file import load_workload_file

    if any(w.name == name for w in load_workload_file(path).workloads):
        return
    text = path.read_text(encoding="utf-8")
    keys = re.findall(r"^([A-Za-z_][\w-]*):", text, flags=re.MULTILINE)
    block = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True)
    if not keys or keys[-1] != "workloads":
        raise InvalidValueError(
            f"{path}: 'workloads:' is not the file's last key; add this entry under it and run "
            f"`relitigate proposals promote {name}` again:\n{block}"
        )
    text = re.sub(r"^workloads:[ \t]*\[\][ \t]*$", "workloads:", text, count=1, flags=re.MULTILINE)
    indent = re.search(r"^workloads:\s*\n(?:\s*#.*\n)*( *)- ", text, flags=re.MULTILINE)
    pad = indent.group(1) if indent else "  "
    lines = "".join(pad + line + "\n" for line in block.splitlines())
    path.write_text(text.rstrip("\n") + "\n" + lines, encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Attach ``propose`` and the ``proposals`` sub-app to ``app``."""
    app.command("propose")(propose)
    app.add_typer(proposals_app, name="proposals")
