"""Block Kit blocks and a plain-text fallback for a notice. Pure: data in, JSON-able dicts out.

A notice is readable without opening anything else: the verdict, the quality ratio with its
interval, both sides' quality and cost per useful task, the monthly savings at the current
volume, the failed gates with evidence, the recommended action and the trend. The memo and
the flow run are links for those who want more.

:func:`payload_as_text` turns a stored payload back into plain text (``notices --preview``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from tasks.notify.facts import DigestFacts, Interval, NoticeFacts, SideFacts

Block = dict[str, Any]
Payload = dict[str, Any]
"""``{"text": fallback, "blocks": [...]}``, the arguments of ``chat.postMessage``."""

_HEADER_MAX = 150
_SECTION_MAX = 3000
_FIELD_MAX = 2000
_TEXT_MAX = 3900

_HEADLINES = {
    "retire": "Retire: {w} fine-tune ({q})",
    "watch": "Watch: {w} fine-tune is eroding ({q})",
    "inconclusive": "Inconclusive: {w} needs attention ({q})",
    "keep": "Keep: {w} fine-tune holds ({q})",
}
_EMOJI = {
    "retire": ":red_circle:",
    "watch": ":large_yellow_circle:",
    "inconclusive": ":grey_question:",
    "keep": ":large_green_circle:",
}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn reserves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def usd(value: float) -> str:
    """Dollars, with a real minus sign: ``$4,200``, ``−$12.50``, ``$0.00041``."""
    sign = "−" if value < 0 else ""
    amount = abs(value)
    if amount >= 100:
        body = f"{amount:,.0f}"
    elif amount >= 1:
        body = f"{amount:,.2f}"
    elif amount == 0:
        body = "0"
    else:  # three significant digits, at least cents: $0.50, $0.0125, $0.00041
        digits = max(2, 2 - math.floor(math.log10(amount)))
        body = f"{amount:.{digits}f}".rstrip("0")
        if len(body.partition(".")[2]) < 2:
            body = f"{amount:.2f}"
    return f"{sign}${body}"


def _interval(ci: Interval | None, digits: int) -> str:
    if ci is None:
        return ""
    return f" (95% CI {ci.low:.{digits}f}–{ci.high:.{digits}f})"


def _side(label: str, side: SideFacts) -> str:
    return f"{label} {side.quality:.3f}{_interval(side.quality_ci, 3)}"


def _cpt(side: SideFacts) -> str:
    return (
        "n/a (nothing passed)"
        if side.cost_per_useful_task is None
        else usd(side.cost_per_useful_task)
    )


def _savings(facts: NoticeFacts) -> str:
    volume = f" at {facts.calls_per_day:,} calls/day" if facts.calls_per_day else ""
    if facts.monthly_savings_usd < 0:
        return f"{usd(facts.monthly_savings_usd)}/month{volume}: buying is cheaper"
    return f"{usd(facts.monthly_savings_usd)}/month{volume} saved by the fine-tune"


def _trend(facts: NoticeFacts) -> str:
    parts = []
    if facts.trend.quarters_since_adoption is not None:
        parts.append(
            f"{facts.trend.quarters_since_adoption} quarters since adoption "
            "(fine-tunes typically last 4–8)"
        )
    if facts.trend.projected_erosion_quarter:
        parts.append(f"projected erosion: {facts.trend.projected_erosion_quarter}")
    return "; ".join(parts) if parts else "not enough quarters for a trend yet"


def _lead(facts: NoticeFacts) -> str:
    buy = escape(facts.buy.model)
    if facts.verdict == "retire":
        return f"The fine-tune's advantage over *{buy}* has eroded."
    if facts.verdict == "watch" and facts.deprecation:
        going = escape(facts.deprecation)
        return f"The fine-tune still holds against *{buy}*, but {going}: it must move before then."
    if facts.verdict == "watch":
        when = facts.trend.projected_erosion_quarter
        tail = f" by *{when}*" if when else " soon"
        return f"The fine-tune still holds against *{buy}*, but the trend says it erodes{tail}."
    if facts.verdict == "inconclusive":
        why = escape(facts.reason or "the evidence could not support a verdict")
        return f"No verdict this quarter: {why}. Nothing is retired on this evidence."
    return f"The fine-tune still beats *{buy}*."


def headline(facts: NoticeFacts) -> str:
    """The notice's one-line title."""
    if facts.verdict == "watch" and facts.deprecation:
        return f"Watch: {facts.workload} fine-tune's model is being deprecated ({facts.quarter})"
    return _HEADLINES[facts.verdict].format(w=f"{facts.workload}", q=facts.quarter)


def build_payload(facts: NoticeFacts) -> Payload:
    """The ``chat.postMessage`` payload (``text`` fallback plus ``blocks``) for a decision."""
    title = headline(facts)
    fields = [
        f"*Quality ratio* (fine-tune / buy)\n{facts.quality_ratio:.2f}"
        f"{_interval(facts.quality_ratio_ci, 2)}",
        "*Quality*\n"
        + _side("fine-tune", facts.finetune)
        + "\n"
        + _side(f"buy ({escape(facts.buy.model)})", facts.buy),
        f"*Cost per useful task*\nfine-tune {_cpt(facts.finetune)}\nbuy {_cpt(facts.buy)}",
        f"*Monthly savings at current volume*\n{_savings(facts)}",
        f"*Trend*\n{_trend(facts)}",
        f"*Case*\n{facts.case.replace('_', ' ')}",
    ]
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, _HEADER_MAX)}},
        _section(f"{_EMOJI[facts.verdict]} {_lead(facts)}"),
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": _clip(f, _FIELD_MAX)} for f in fields],
        },
    ]
    if facts.failed_gates:
        gates = "\n".join(f"• *{escape(g.name)}*: {escape(g.evidence)}" for g in facts.failed_gates)
        blocks.append(_section(f"*Failed gates*\n{gates}"))
    blocks.append(_section(f"*Recommended action*\n{escape(facts.recommended_action)}"))
    links = _links(memo=facts.memo_url, flow_run=facts.flow_run_url)
    context = f"relitigate · {facts.quarter} · {escape(facts.workload)}"
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join([*links, context])}]}
    )
    buttons = action_buttons(facts)
    if buttons is not None:
        blocks.append(buttons)
    return {"text": _clip(fallback_text(facts), _TEXT_MAX), "blocks": blocks}


ACTIONS_BLOCK_ID = "relitigate_actions"
ACTION_PREFIX = "relitigate_"
"""Each button's ``action_id`` is this prefix plus the action (``relitigate_acknowledge``)."""

_BUTTONS = (
    ("acknowledge", "Acknowledge", "primary"),
    ("snooze", "Snooze until next quarter", None),
    ("rerun", "Re-run now", None),
    ("dispute", "Dispute", "danger"),
    ("done", "Mark as done", None),
)


def action_buttons(facts: NoticeFacts) -> Block | None:
    """The notice's buttons (an ``actions`` block), or None for a verdict that asks nothing.

    Snooze is offered on ``watch`` notices only. Each button's value is the workload and
    quarter; the listener finds the notice from the message the click came from.
    """
    if facts.verdict not in ("retire", "watch", "inconclusive"):
        return None
    value = f"{facts.workload}:{facts.quarter}"
    elements: list[Block] = []
    for action, label, style in _BUTTONS:
        if action == "snooze" and facts.verdict != "watch":
            continue
        button: Block = {
            "type": "button",
            "action_id": ACTION_PREFIX + action,
            "text": {"type": "plain_text", "text": label},
            "value": value,
        }
        if style:
            button["style"] = style
        elements.append(button)
    return {"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": elements}


def fallback_text(facts: NoticeFacts) -> str:
    """The plain text shown in notifications and by clients that cannot render blocks."""
    lines = [
        f"{headline(facts)}. {_plain(_lead(facts))}",
        f"Quality ratio {facts.quality_ratio:.2f}{_interval(facts.quality_ratio_ci, 2)}; "
        f"{_side('fine-tune', facts.finetune)}, {_side('buy', facts.buy)} ({facts.buy.model}).",
        f"Cost per useful task: fine-tune {_cpt(facts.finetune)}, buy {_cpt(facts.buy)}. "
        f"Monthly savings: {_savings(facts)}.",
    ]
    if facts.failed_gates:
        lines.append(
            "Failed gates: " + "; ".join(f"{g.name} ({g.evidence})" for g in facts.failed_gates)
        )
    lines.append(f"Trend: {_trend(facts)}.")
    lines.append(f"Recommended action: {facts.recommended_action}")
    if facts.memo_url:
        lines.append(f"Memo: {facts.memo_url}")
    if facts.flow_run_url:
        lines.append(f"Flow run: {facts.flow_run_url}")
    return "\n".join(lines)


def build_digest_payload(digest: DigestFacts) -> Payload:
    """The quarter digest for the platform channel: one line per workload."""
    counts: dict[str, int] = {}
    for line in digest.lines:
        counts[line.verdict] = counts.get(line.verdict, 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "no decisions"
    rows = []
    for line in sorted(digest.lines, key=lambda x: (x.verdict, x.workload)):
        parts = [f"*{escape(line.workload)}*: {line.verdict}"]
        if line.quality_ratio is not None:
            parts.append(f"ratio {line.quality_ratio:.2f}{_interval(line.quality_ratio_ci, 2)}")
        if line.monthly_savings_usd is not None:
            parts.append(f"savings {usd(line.monthly_savings_usd)}/month")
        if line.projected_erosion_quarter:
            parts.append(f"erodes {line.projected_erosion_quarter}")
        rows.append("• " + ", ".join(parts))
    title = f"relitigate digest {digest.quarter}: {summary}"
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, _HEADER_MAX)}}
    ]
    chunk: list[str] = []
    for row in rows:
        if sum(len(r) + 1 for r in chunk) + len(row) > _SECTION_MAX:
            blocks.append(_section("\n".join(chunk)))
            chunk = []
        chunk.append(row)
    if chunk:
        blocks.append(_section("\n".join(chunk)))
    if digest.open_decisions:
        opened = _open_rows(digest)
        blocks.append(_section(_clip("*Open decisions*\n" + "\n".join(opened), _SECTION_MAX)))
        rows += ["Open decisions:", *opened]
    links = _links(memo=None, flow_run=digest.flow_run_url)
    if links:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": links[0]}]})
    text = title + "\n" + "\n".join(_plain(r) for r in rows)
    return {"text": _clip(text, _TEXT_MAX), "blocks": blocks[:50]}


def _open_rows(digest: DigestFacts) -> list[str]:
    """One line per open decision, oldest first."""
    states = {"open": "no action yet", "acknowledge": "acknowledged", "snooze": "snoozed",
              "dispute": "disputed"}  # fmt: skip
    return [
        f"• *{escape(o.workload)}* {o.quarter} {o.kind}: {states.get(o.state, o.state)}, "
        f"{o.age_days:.0f} days"
        for o in sorted(digest.open_decisions, key=lambda o: -o.age_days)
    ]


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, _SECTION_MAX)}}


def _links(*, memo: str | None, flow_run: str | None) -> list[str]:
    links = []
    if memo:
        links.append(f"<{memo}|Decision memo>")
    if flow_run:
        links.append(f"<{flow_run}|Prefect flow run>")
    return links


_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_EMOJI_CODE = re.compile(r":[a-z0-9_+-]+: ")


def _plain(mrkdwn: str) -> str:
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", mrkdwn)
    text = _BOLD.sub(r"\1", text)
    text = _EMOJI_CODE.sub("", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def payload_as_text(payload: Payload) -> str:
    """Render a stored payload's blocks as plain text, the way the message reads in Slack.

    Falls back to the payload's ``text`` when it has no blocks.
    """
    blocks = payload.get("blocks") or []
    if not blocks:
        return str(payload.get("text", ""))
    out: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = str(block["text"]["text"])
            out += [title, "=" * len(title)]
        elif kind == "section":
            if "text" in block:
                out += [_plain(str(block["text"]["text"])), ""]
            for f in block.get("fields", []):
                head, _, rest = _plain(str(f["text"])).partition("\n")
                out.append(f"{head}:")
                out += [f"  {line}" for line in rest.splitlines()]
            if "fields" in block:
                out.append("")
        elif kind == "context":
            out += [" · ".join(_plain(str(e.get("text", ""))) for e in block["elements"]), ""]
        elif kind == "divider":
            out += ["---", ""]
        elif kind == "actions":
            labels = [str(e["text"]["text"]) for e in block.get("elements", []) if "text" in e]
            out += [" ".join(f"[{label}]" for label in labels), ""]
    return "\n".join(out).rstrip() + "\n"
