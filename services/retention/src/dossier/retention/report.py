"""Exports of the quarterly review (定期审核报告): pure functions from rows to CSV or HTML text.

- `findings_csv`: one row per finding, for spreadsheets. A cell that a
  spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) is
  prefixed with ``'``.
- `report_html`: a self-contained page — counts per rule and per branch by
  quarter, the runs and their sign-off, and a bar chart of findings over the
  quarters as inline SVG. No script, no external asset, every text escaped.

Rows hold no personal data (student numbers, rule codes, notes), so neither
does anything made from them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from html import escape

from attrs import frozen

CSV_COLUMNS = (
    "branch",
    "quarter",
    "run_id",
    "finding_id",
    "student_number",
    "rule",
    "severity",
    "suggested_action",
    "status",
    "resolved_by",
    "resolved_at",
    "note",
    "detail",
)


@frozen(kw_only=True)
class FindingRow:
    branch: str
    quarter: str
    run_id: str
    finding_id: str
    student_number: str
    rule: str
    severity: str
    suggested_action: str
    status: str
    detail: Mapping[str, str | int]
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None


@frozen(kw_only=True)
class RunRow:
    branch: str
    quarter: str
    status: str
    started_at: datetime
    dossiers: int
    by_rule: Mapping[str, int]
    open: int
    finished_at: datetime | None = None
    signed_off_by: str | None = None
    signed_off_at: datetime | None = None

    @property
    def findings(self) -> int:
        return sum(self.by_rule.values())


def _cell(value: object) -> str:
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def findings_csv(rows: Iterable[FindingRow]) -> str:
    """A header line, then one line per finding (RFC 4180 quoting, ``\\r\\n`` line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        detail = json.dumps(dict(r.detail), sort_keys=True, ensure_ascii=False)
        writer.writerow(
            _cell(v)
            for v in (
                r.branch,
                r.quarter,
                r.run_id,
                r.finding_id,
                r.student_number,
                r.rule,
                r.severity,
                r.suggested_action,
                r.status,
                r.resolved_by,
                r.resolved_at,
                r.note,
                detail,
            )
        )
    return out.getvalue()


# -- HTML ------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;margin:2rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}
th,td{border:1px solid #bbb;padding:.25rem .6rem;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
caption{text-align:left;color:#555;padding-bottom:.25rem}
.muted{color:#666}
"""


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _pivot(
    runs: Sequence[RunRow], keys: Callable[[RunRow], Iterable[tuple[str, int]]]
) -> tuple[list[str], dict[str, dict[str, int]]]:
    """Row key → quarter → count."""
    table: dict[str, dict[str, int]] = {}
    for run in runs:
        for key, count in keys(run):
            row = table.setdefault(key, {})
            row[run.quarter] = row.get(run.quarter, 0) + count
    return sorted(table), table


def _count_table(
    table_id: str,
    caption: str,
    head: str,
    quarters: Sequence[str],
    rows: Mapping[str, Mapping[str, int]],
    attribute: str,
) -> str:
    cells = "".join(f'<th class="n" scope="col">{escape(q)}</th>' for q in quarters)
    lines = [
        f'<table id="{table_id}"><caption>{escape(caption)}</caption>',
        f'<thead><tr><th scope="col">{escape(head)}</th>{cells}'
        '<th class="n" scope="col">合计 Total</th></tr></thead><tbody>',
    ]
    for key in sorted(rows):
        counts = rows[key]
        tds = "".join(
            f'<td class="n" data-quarter="{escape(q)}">{counts.get(q, 0)}</td>' for q in quarters
        )
        total = sum(counts.values())
        lines.append(
            f'<tr {attribute}="{escape(key)}"><th scope="row">{escape(key)}</th>{tds}'
            f'<td class="n total">{total}</td></tr>'
        )
    lines.append("</tbody></table>")
    return "".join(lines)


def bar_chart_svg(series: Sequence[tuple[str, int]], *, title: str) -> str:
    """Vertical bars, one per (label, value), labelled; inline SVG with a title for readers."""
    bar, gap, height, top, bottom, left = 48, 24, 180, 24, 40, 16
    width = left + len(series) * (bar + gap) + gap
    peak = max((value for _, value in series), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height + top + bottom}" viewBox="0 0 {width} {height + top + bottom}" '
        f'aria-labelledby="chart-title"><title id="chart-title">{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + height}" x2="{width - gap // 2}" y2="{top + height}" '
        'stroke="#888"/>',
    ]
    for index, (label, value) in enumerate(series):
        x = left + gap + index * (bar + gap)
        h = round(height * value / peak)
        y = top + height - h
        parts.append(
            f'<g data-quarter="{escape(label)}" data-value="{value}">'
            f"<title>{escape(label)}: {value}</title>"
            f'<rect x="{x}" y="{y}" width="{bar}" height="{h}" fill="#3a6ea5"/>'
            f'<text x="{x + bar // 2}" y="{y - 6}" text-anchor="middle" font-size="12">'
            f"{value}</text>"
            f'<text x="{x + bar // 2}" y="{top + height + 18}" text-anchor="middle" '
            f'font-size="12">{escape(label)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _runs_table(runs: Sequence[RunRow]) -> str:
    heads = (
        "校区 Branch",
        "季度 Quarter",
        "状态 Status",
        "档案 Dossiers",
        "发现 Findings",
        "待处理 Open",
        "开始 Started",
        "完成 Finished",
        "签署人 Signed off by",
        "签署时间 Signed off at",
    )
    numeric = {3, 4, 5}
    head = "".join(
        f'<th scope="col"{" class=n" if i in numeric else ""}>{escape(h)}</th>'
        for i, h in enumerate(heads)
    )
    lines = [f'<table id="runs"><caption>审核记录 Runs</caption><thead><tr>{head}</tr></thead>']
    lines.append("<tbody>")
    for run in sorted(runs, key=lambda r: (r.branch, r.quarter)):
        cells = (
            escape(run.branch),
            escape(run.quarter),
            escape(run.status),
            f'<td class="n">{run.dossiers}</td>',
            f'<td class="n">{run.findings}</td>',
            f'<td class="n">{run.open}</td>',
            escape(_when(run.started_at)),
            escape(_when(run.finished_at)),
            escape(run.signed_off_by or ""),
            escape(_when(run.signed_off_at)),
        )
        tds = "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells)
        lines.append(f"<tr>{tds}</tr>")
    lines.append("</tbody></table>")
    return "".join(lines)


def report_html(
    runs: Sequence[RunRow], *, generated_at: datetime, title: str = "定期审核报告 Quarterly review"
) -> str:
    """The whole report as one HTML document (UTF-8, no script, no external asset)."""
    quarters = sorted({run.quarter for run in runs})
    rules, by_rule = _pivot(runs, lambda run: run.by_rule.items())
    _, by_branch = _pivot(runs, lambda run: [(run.branch, run.findings)])
    totals = [(q, sum(r.findings for r in runs if r.quarter == q)) for q in quarters]
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">生成时间 Generated {escape(_when(generated_at))} · '
        f"{len(runs)} 次审核 runs · {sum(r.findings for r in runs)} 项发现 findings · "
        f"{len(rules)} 条规则 rules</p>",
        "<h2>各季度发现数量 Findings over quarters</h2>",
        bar_chart_svg(totals, title="各季度发现数量 Findings per quarter"),
        "<h2>按规则统计 Findings per rule</h2>",
        _count_table(
            "by-rule", "规则 × 季度 Rule × quarter", "规则 Rule", quarters, by_rule, "data-rule"
        ),
        "<h2>按校区统计 Findings per branch</h2>",
        _count_table(
            "by-branch",
            "校区 × 季度 Branch × quarter",
            "校区 Branch",
            quarters,
            by_branch,
            "data-branch",
        ),
        "<h2>审核与签署 Runs and sign-off</h2>",
        _runs_table(runs),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
