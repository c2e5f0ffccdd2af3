"""The stylesheet inlined into the HTML report (no external fonts or files)."""

CSS = """
:root { --fg:#1d2733; --muted:#5b6775; --line:#d9dee5; --bg:#ffffff; --panel:#f5f7fa;
        --ok:#1f7a3f; --bad:#b3261e; --warn:#a85b00; --warn-bg:#fff1e0; --accent:#3f6fb0; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1320px; padding: 24px 28px 48px; color: var(--fg); background: var(--bg);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 8px; }
.sub, .note, .empty { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }  /* headers wrap between words, never inside one */
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.num .note { display: block; }
tr.failed td, tr.skipped td { color: var(--muted); }
td.machine { min-width: 9em; }
.table-scroll { overflow-x: auto; }
tr.run-start td { border-top: 2px solid #9aa5b1; }
table.packages, table.models { width: auto; min-width: 50%; }
tr.caveat td:first-child { box-shadow: inset 4px 0 0 var(--warn); }
.status-ok { color: var(--ok); font-weight: 600; }
.status-bad { color: var(--bad); font-weight: 600; }
.status-skip { color: var(--muted); font-weight: 600; }
tr.failed td.reason { color: var(--bad); }
.badge { display: inline-block; margin: 2px 0 0 4px; padding: 0 6px; border-radius: 9px; font-size: 11px;
         font-weight: 600; color: var(--warn); background: var(--warn-bg); border: 1px solid #f0c48a; }
code, .params { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
.params span { display: inline-block; margin: 0 4px 2px 0; padding: 0 4px; background: var(--panel); border-radius: 3px;
                max-width: 100%; overflow-wrap: anywhere; }
td.params { min-width: 12em; max-width: 26em; }
td.model { min-width: 8em; }
.charts figure { margin: 0 0 20px; }
figcaption { color: var(--muted); margin-top: 4px; }
svg.chart { max-width: 100%; height: auto; font: 12px system-ui, "DejaVu Sans", sans-serif; }
svg .grid { stroke: #e6e9ee; } svg .axis { stroke: #8a94a0; } svg .frame { fill: none; stroke: #c4cbd4; }
svg .tick { fill: var(--muted); font-size: 11px; } svg .axis-title { fill: var(--muted); }
svg .label { fill: var(--fg); } svg .label.caveat { fill: var(--warn); font-weight: 600; } svg .value { fill: var(--fg); font-size: 11px; }
.transcripts { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; background: var(--bg); }
.card.reference { background: var(--panel); }
.card h4 { margin: 0 0 6px; font-size: 13px; }
.card .words { font-size: 14px; }
.card details { margin-top: 6px; color: var(--muted); font-size: 12px; }
mark.sub { background: #ffe08a; border-radius: 2px; padding: 0 2px; }
ins { background: #c9f0d3; text-decoration: underline; }
del { background: #f9c9c5; color: #7a1c16; }
.legend span { margin-right: 14px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 18px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
"""
