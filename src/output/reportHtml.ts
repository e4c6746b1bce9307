import { promises as fsp, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot } from '../packageRoot.js';
import type { ReportResult } from '../graph/governance/report.js';

// `agentid report --html FILE`: one self-contained page. Everything it needs is inside the file:
// the report as JSON, the page's own script, and Chart.js (MIT), whose UMD build is read from
// node_modules at run time and inlined, so the page opens offline, from a mail attachment or a
// CI artifact, with no request to any server. Chart.js draws on <canvas> in the viewer's
// browser; nothing is drawn here.

let chartJs: string | undefined;

/** The UMD build of Chart.js, as installed with agentid. */
export function chartJsSource(): string {
  if (chartJs === undefined) {
    // The package's exports map names only its ESM/CJS entries; the UMD file sits beside them.
    const require = createRequire(path.join(packageRoot(), 'package.json'));
    const entry = require.resolve('chart.js');
    chartJs = readFileSync(path.join(path.dirname(entry), 'chart.umd.min.js'), 'utf8');
  }
  return chartJs;
}

/** JSON that is safe inside <script>: no `</script>`, no `<!--`, no U+2028/9 surprises. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `
:root { --bg:#f6f7f9; --card:#fff; --ink:#1b1f24; --muted:#5b6470; --line:#dde1e6; --high:#c62828; --medium:#ef6c00; --low:#1565c0; --info:#607d8b; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--ink); }
header { padding: 20px 28px; background: #102a43; color: #fff; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; color: #c8d3df; }
main { padding: 20px 28px; display: grid; gap: 20px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
.card, section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
.card .n { font-size: 26px; font-weight: 600; }
.card .l { color: var(--muted); }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
@media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
h2 { margin: 0 0 10px; font-size: 16px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
.sev { display: inline-block; min-width: 58px; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; text-align: center; }
.sev.high { background: var(--high); } .sev.medium { background: var(--medium); } .sev.low { background: var(--low); } .sev.info { background: var(--info); }
.filters { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 10px; align-items: center; }
.filters select, .filters input { padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: #f0f2f5; padding: 1px 4px; border-radius: 4px; }
#findings td.obj { min-width: 230px; }
.oid { font: 11px ui-monospace, SFMono-Regular, Menlo, monospace; white-space: nowrap; }
#by-rule tbody tr, #by-blueprint tbody tr { cursor: pointer; }
#by-rule tbody tr:hover, #by-blueprint tbody tr:hover { background: #eef3f8; }
.hint { font-weight: normal; font-size: 12px; color: var(--muted); margin-left: 6px; }
.chart { position: relative; height: 300px; }
.muted { color: var(--muted); }
.warn { color: var(--medium); }
`;

const SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var el = function (tag, attrs, text) { var e = document.createElement(tag); for (var k in attrs || {}) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; };
  var sev = function (s) { return el('span', { 'class': 'sev ' + s }, s); };

  // Summary tables.
  var byRule = document.querySelector('#by-rule tbody');
  data.summary.byRule.forEach(function (r) {
    var tr = el('tr', { 'data-rule': r.rule });
    var a = el('td'); a.appendChild(sev(r.severity)); tr.appendChild(a);
    tr.appendChild(el('td', {}, r.rule)); tr.appendChild(el('td', {}, r.title)); tr.appendChild(el('td', { 'class': 'count' }, String(r.count)));
    byRule.appendChild(tr);
  });
  var byBp = document.querySelector('#by-blueprint tbody');
  data.summary.byBlueprint.forEach(function (b) {
    var tr = el('tr', { 'data-blueprint': b.blueprint });
    [b.blueprint, b.high, b.medium, b.low, b.total].forEach(function (v) { tr.appendChild(el('td', {}, String(v))); });
    byBp.appendChild(tr);
  });

  // Findings with filters.
  var fSev = document.getElementById('f-severity'), fRule = document.getElementById('f-rule'), fBp = document.getElementById('f-blueprint'), fText = document.getElementById('f-text');
  var uniq = function (xs) { return xs.filter(function (x, i) { return xs.indexOf(x) === i; }).sort(); };
  uniq(data.findings.map(function (f) { return f.rule; })).forEach(function (r) { fRule.appendChild(el('option', { value: r }, r)); });
  uniq(data.findings.map(function (f) { return f.blueprint || '(none)'; })).forEach(function (b) { fBp.appendChild(el('option', { value: b }, b)); });
  var body = document.querySelector('#findings tbody');
  var rows = data.findings.map(function (f) {
    var tr = el('tr', { 'class': 'finding', 'data-rule': f.rule, 'data-severity': f.severity, 'data-object-id': f.objectId });
    var a = el('td'); a.appendChild(sev(f.severity)); tr.appendChild(a);
    tr.appendChild(el('td', {}, f.rule));
    var o = el('td', { 'class': 'obj' }); o.appendChild(el('div', {}, f.object)); o.appendChild(el('div', { 'class': 'muted' }, f.objectType)); o.appendChild(el('div', { 'class': 'muted oid' }, f.objectId)); tr.appendChild(o);
    tr.appendChild(el('td', {}, f.blueprint || ''));
    tr.appendChild(el('td', {}, f.why));
    var fx = el('td'); fx.appendChild(el('code', {}, f.fix)); tr.appendChild(fx);
    body.appendChild(tr);
    return { f: f, tr: tr, text: (f.object + ' ' + f.objectId + ' ' + f.why + ' ' + (f.blueprint || '')).toLowerCase() };
  });
  var rank = { info: 0, low: 1, medium: 2, high: 3 };
  var apply = function () {
    var s = fSev.value, r = fRule.value, b = fBp.value, t = fText.value.trim().toLowerCase(), shown = 0;
    rows.forEach(function (x) {
      var ok = (!s || rank[x.f.severity] >= rank[s]) && (!r || x.f.rule === r) && (!b || (x.f.blueprint || '(none)') === b) && (!t || x.text.indexOf(t) >= 0);
      x.tr.style.display = ok ? '' : 'none';
      if (ok) shown++;
    });
    document.getElementById('finding-count').textContent = shown + ' of ' + rows.length + ' findings shown';
  };
  [fSev, fRule, fBp].forEach(function (x) { x.addEventListener('change', apply); });
  fText.addEventListener('input', apply);
  apply();
  // A row of a summary table narrows the findings to its rule or blueprint.
  var jump = function (select, value) { select.value = value; apply(); document.getElementById('findings-section').scrollIntoView(); };
  Array.prototype.forEach.call(document.querySelectorAll('#by-rule tbody tr'), function (tr) { tr.addEventListener('click', function () { jump(fRule, tr.getAttribute('data-rule')); }); });
  Array.prototype.forEach.call(document.querySelectorAll('#by-blueprint tbody tr'), function (tr) { tr.addEventListener('click', function () { jump(fBp, tr.getAttribute('data-blueprint')); }); });

  // Charts (Chart.js, inlined above). No animation: the page is a document, and a screenshot
  // or a print taken right after load shows the finished chart.
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  var bp = data.charts.agentsPerBlueprint;
  new Chart(document.getElementById('chart-blueprints'), {
    type: 'bar',
    data: { labels: bp.map(function (b) { return b.blueprint; }), datasets: [
      { label: 'enabled', data: bp.map(function (b) { return b.enabled; }), backgroundColor: '#2e7d32' },
      { label: 'disabled', data: bp.map(function (b) { return b.disabled; }), backgroundColor: '#9e9e9e' }] },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
  });
  // Days are UTC; the first and the last (today, so far) are partial, drawn dashed and labelled
  // so, so that a short day does not read as a drop. Failures have their own axis (right): a few
  // dozen beside thousands of sign-ins would otherwise be a flat line.
  var days = data.charts.signInsPerDay;
  var dashed = function (c) { return days[c.p0DataIndex].partial || days[c.p1DataIndex].partial ? [5, 4] : undefined; };
  new Chart(document.getElementById('chart-signins'), {
    type: 'line',
    data: { labels: days.map(function (d, i) { return d.day + (d.partial ? (i === days.length - 1 ? ' (so far)' : ' (partial)') : ''); }), datasets: [
      { label: 'sign-ins', yAxisID: 'y', data: days.map(function (d) { return d.signIns; }), borderColor: '#1565c0', backgroundColor: 'rgba(21,101,192,.12)', fill: true, tension: .25, segment: { borderDash: dashed } },
      { label: 'failures (right axis)', yAxisID: 'y1', data: days.map(function (d) { return d.failures; }), borderColor: '#c62828', backgroundColor: '#c62828', fill: false, tension: 0, segment: { borderDash: dashed } }] },
    options: { interaction: { mode: 'index', intersect: false }, scales: {
      y: { beginAtZero: true, title: { display: true, text: 'sign-ins' } },
      y1: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'failures' }, ticks: { color: '#c62828', precision: 0 } } } }
  });
  document.body.setAttribute('data-ready', 'true');
})();
`;

export function renderReportHtml(r: ReportResult): string {
  const sevCount = (s: string) => r.findings.filter((f) => f.severity === s).length;
  const card = (n: number | string, label: string, id: string) => `<div class="card" id="${id}"><div class="n">${escapeHtml(String(n))}</div><div class="l">${escapeHtml(label)}</div></div>`;
  const warnings = r.warnings.length ? `<section><h2>Not checked</h2>${r.warnings.map((w) => `<div class="warn">${escapeHtml(w)}</div>`).join('')}</section>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>Agent ID governance report — ${escapeHtml(r.tenant)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Agent ID governance report</h1>
<p>${escapeHtml(r.tenant)} · generated ${escapeHtml(r.generatedAt.slice(0, 16).replace('T', ' '))} UTC · stale after ${r.staleDays} days · credentials expiring within ${r.expiringDays} days</p>
</header>
<main>
<div class="cards">
${card(r.counts.blueprints, 'blueprints', 'count-blueprints')}
${card(r.counts.agents, 'agent identities', 'count-agents')}
${card(r.counts.agentUsers, 'agent users', 'count-agent-users')}
${card(r.counts.findings, 'findings', 'count-findings')}
${card(sevCount('high'), 'high', 'count-high')}
${card(sevCount('medium'), 'medium', 'count-medium')}
${card(sevCount('low'), 'low', 'count-low')}
</div>
<div class="grid2">
<section><h2>Agents per blueprint</h2><div class="chart"><canvas id="chart-blueprints" aria-label="Agents per blueprint"></canvas></div></section>
<section><h2>Agent sign-ins and failures per day<span class="hint">UTC</span></h2><div class="chart"><canvas id="chart-signins" aria-label="Sign-ins and failures per day"></canvas></div></section>
</div>
<div class="grid2">
<section><h2>By rule<span class="hint">click a row to filter the findings</span></h2><table id="by-rule"><thead><tr><th>Severity</th><th>Rule</th><th>Title</th><th>Findings</th></tr></thead><tbody></tbody></table></section>
<section><h2>By blueprint<span class="hint">click a row to filter the findings</span></h2><table id="by-blueprint"><thead><tr><th>Blueprint</th><th>High</th><th>Medium</th><th>Low</th><th>Total</th></tr></thead><tbody></tbody></table></section>
</div>
${warnings}
<section id="findings-section">
<h2>Findings</h2>
<div class="filters">
<select id="f-severity" aria-label="Minimum severity"><option value="">any severity</option><option value="high">high</option><option value="medium">medium and above</option><option value="low">low and above</option></select>
<select id="f-rule" aria-label="Rule"><option value="">every rule</option></select>
<select id="f-blueprint" aria-label="Blueprint"><option value="">every blueprint</option></select>
<input id="f-text" type="search" placeholder="search objects, ids, reasons" aria-label="Search">
<span id="finding-count" class="muted"></span>
</div>
<table id="findings"><thead><tr><th>Severity</th><th>Rule</th><th>Object</th><th>Blueprint</th><th>Why</th><th>Fix</th></tr></thead><tbody></tbody></table>
</section>
</main>
<script type="application/json" id="report-data">${scriptJson(r)}</script>
<script>${chartJsSource().replace(/<\/script/gi, '<\\/script')}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** Written whole or not at all: a temporary file beside it, then a rename. */
export async function writeReportHtml(file: string, r: ReportResult): Promise<void> {
  const html = renderReportHtml(r);
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
  await fsp.writeFile(tmp, html, 'utf8');
  await fsp.rename(tmp, file);
}
