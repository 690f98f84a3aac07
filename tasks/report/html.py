"""The HTML report: one self-contained file, charts inline as base64 PNG. Pure.

The page loads nothing from anywhere (a Content-Security-Policy forbids it): a few lines of
inline script make the table sortable by clicking a header.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from tasks.report.render import display_rows, totals_line, usd

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;
color:#1d1d1f;background:#fff;max-width:1280px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#666;margin-bottom:16px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:20px}
table{border-collapse:collapse;width:100%;font-size:12px}
th,td{border-bottom:1px solid #e5e5e5;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f6f6f6;cursor:pointer;user-select:none;white-space:nowrap}
td.num{font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}
.v{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600}
.v-keep{background:#2ca02c}.v-watch{background:#ff7f0e}.v-retire{background:#d62728}
.v-inconclusive{background:#7f7f7f}.v-none{background:#bbb}
img{max-width:100%;height:auto;border:1px solid #eee}
section.w{border-top:1px solid #ddd;padding-top:8px}
ul{margin:4px 0 8px 18px;padding:0}
"""

_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th, index) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var ascending = th.getAttribute("data-order") !== "asc";
    rows.sort(function (a, b) {
      var x = a.cells[index].getAttribute("data-key") || a.cells[index].textContent;
      var y = b.cells[index].getAttribute("data-key") || b.cells[index].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var cmp = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return ascending ? cmp : -cmp;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    th.setAttribute("data-order", ascending ? "asc" : "desc");
  });
});
"""

_NUMERIC_KEYS = {
    "ratio": "quality_ratio",
    "net savings/month": "net_monthly_savings_usd",
    "age (q)": "quarters_since_adoption",
}


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _verdict(verdict: str | None) -> str:
    name = verdict or "none"
    return f'<span class="v v-{escape(name)}">{escape(verdict or "no decision")}</span>'


def render_html(
    document: Mapping[str, Any],
    *,
    title: str,
    overview_png: bytes | None,
    history_pngs: Mapping[str, bytes],
) -> str:
    """The report page.

    Args:
        document: the report's JSON document (:func:`tasks.report.document.report_document`).
        title: the page title.
        overview_png: the overview chart, or None when nothing was decided.
        history_pngs: workload name -> its history chart, for the workloads to detail.
    """
    totals = document["totals"]
    rows: Sequence[Mapping[str, Any]] = document["workloads"]
    shown = display_rows(rows)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<div class="meta">Generated {escape(str(document["generated_at"]))} · schema '
        f"{escape(str(document['schema']))} v{document['schema_version']}</div>",
        _cards(totals),
        f"<p>{escape(totals_line(totals))}</p>",
    ]
    if overview_png is not None:
        parts.append(_img(overview_png, "advantage and savings per workload"))
    parts.append("<h2>Workloads</h2>")
    parts.append(_table(rows, shown))
    if history_pngs:
        parts.append("<h2>History</h2>")
        by_name = {str(r["workload"]): r for r in rows}
        for name, png in history_pngs.items():
            parts.append(_detail(by_name.get(name, {"workload": name}), png))
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"


def _cards(totals: Mapping[str, Any]) -> str:
    verdicts = totals["verdicts"]
    cards = [
        ("workloads", str(totals["workloads"])),
        ("savings at stake / month", usd(totals["savings_at_stake_monthly_usd"], digits=0)),
        ("fine-tunes to retire", str(totals["fine_tunes_to_retire"])),
        ("watch", str(verdicts["watch"])),
        ("inconclusive", str(verdicts["inconclusive"])),
        ("net savings / month", usd(totals["net_monthly_savings_usd"], digits=0)),
    ]
    inner = "".join(
        f'<div class="card"><b>{escape(value)}</b>{escape(label)}</div>' for label, value in cards
    )
    return f'<div class="cards">{inner}</div>'


def _table(rows: Sequence[Mapping[str, Any]], shown: Sequence[Mapping[str, str]]) -> str:
    if not shown:
        return "<p>No decisions recorded.</p>"
    headers = list(shown[0])
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for raw, row in zip(rows, shown, strict=True):
        cells = []
        for header in headers:
            if header == "verdict":
                cells.append(
                    f'<td data-key="{escape(row[header])}">{_verdict(raw.get("verdict"))}</td>'
                )
                continue
            key = _NUMERIC_KEYS.get(header)
            value = raw.get(key) if key else None
            attr = f' data-key="{value}"' if isinstance(value, int | float) else ""
            css = ' class="num"' if header not in ("workload", "failed gate", "notice") else ""
            cells.append(f"<td{css}{attr}>{escape(row[header])}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table class="sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _detail(row: Mapping[str, Any], png: bytes) -> str:
    name = str(row["workload"])
    reasons = "".join(f"<li>{escape(str(r))}</li>" for r in row.get("reasons") or [])
    action = row.get("recommended_action")
    return (
        f'<section class="w" id="w-{escape(name)}"><h3>{escape(name)} '
        f"{_verdict(row.get('verdict'))} {escape(str(row.get('quarter') or ''))}</h3>"
        + (f"<ul>{reasons}</ul>" if reasons else "")
        + (f"<p><b>Recommended action:</b> {escape(str(action))}</p>" if action else "")
        + _img(png, f"{name}: quality, advantage and cost per useful task by quarter")
        + "</section>"
    )
