// The report of a training run (`lmkit train --out DIR` writes DIR/curves.svg and
// DIR/report.html): pure functions from the run's numbers to text, no dependency.
//
//   renderCurvesSvg   two panels: the training loss per step (raw, faint, and smoothed by a
//                     centred moving mean whose window narrows at the ends, so the curve
//                     starts on the first losses instead of lagging behind them as a trailing
//                     EMA does, debiased or not) and the validation perplexity per evaluation
//                     (one evaluation: its value written out, not a one-dot plot); linear axes
//                     with "nice" ticks (1, 2, 5 x 10^k) and labels. Spikes (raw losses 8 x
//                     the median distance away from the running median) are left out of the
//                     loss axis and of the smoothed curve, so one spike neither flattens nor
//                     bends the curve; they are drawn at the axis's edge and counted in a note. Resume points are marked. Non-finite values are left
//                     out; a single point or a constant series is drawn in a padded range.
//   renderReportHtml  a self-contained page: the run's configuration, tokenizer and
//                     vocabulary, size, speed, final perplexities, the SVG inlined and samples
//                     of generated text.
// Every piece of text put into the SVG or the HTML goes through escapeXml.

export interface CurvePoint {
  step: number;
  value: number;
}

export interface CurvesInput {
  /** Training loss per step. */
  loss: readonly CurvePoint[];
  /** Validation perplexity per evaluation. */
  validPpl: readonly CurvePoint[];
  /** A title above the panels (optional). */
  title?: string;
  /** Half-width (points) of the smoothed loss's centred window (default: from the number of points; 0: none). */
  smoothing?: number;
  /** Steps where the run was resumed (marked on the loss panel). */
  resumedAt?: readonly number[];
}

/** `s` with &, <, >, " and ' replaced by entities (safe in text and in quoted attributes). */
export function escapeXml(s: string): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The default EMA factor for n points: none below 10, then rising to 0.98 for long runs. */
export function defaultSmoothing(n: number): number {
  return n < 10 ? 0 : Math.min(0.98, Math.max(0, 1 - 10 / n));
}

/** The default half-width of the centred window for n points: none below 10, then n / 25 (at most 200). */
export function defaultHalfWindow(n: number): number {
  return n < 10 ? 0 : Math.min(200, Math.max(1, Math.round(n / 25)));
}

/**
 * Centred moving mean: point i is the mean of points i - k .. i + k with k = min(h, i, n - 1 - i)
 * (the window narrows symmetrically at both ends, so the first and last points are the raw
 * values and a linear trend is reproduced exactly: no lag).
 */
export function smoothCentered(values: readonly number[], h: number): number[] {
  if (!(Number.isInteger(h) && h >= 0)) throw new RangeError(`smoothCentered: h must be an integer >= 0, got ${h}`);
  const n = values.length;
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + values[i]!;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.min(h, i, n - 1 - i);
    out.push((prefix[i + k + 1]! - prefix[i - k]!) / (2 * k + 1));
  }
  return out;
}

/** The median of the points i - k .. i + k, k = min(h, i, n - 1 - i) (symmetric, as smoothCentered), for every i. */
export function runningMedian(values: readonly number[], h: number): number[] {
  const n = values.length;
  return values.map((_, i) => {
    const k = Math.min(h, i, n - 1 - i);
    return quantile(values.slice(i - k, i + k + 1), 0.5);
  });
}

/** The q-quantile (0..1) of `values` (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
}

/** Debiased exponential moving average (the first values are not pulled towards 0). */
export function smoothEma(values: readonly number[], beta: number): number[] {
  if (!(beta >= 0 && beta < 1)) throw new RangeError(`smoothEma: beta must be in [0, 1), got ${beta}`);
  const out: number[] = [];
  let m = 0;
  let w = 0;
  for (const v of values) {
    m = beta * m + (1 - beta) * v;
    w = beta * w + (1 - beta);
    out.push(m / w);
  }
  return out;
}

/** At most `max` points: the mean step and value of consecutive equal-sized buckets (the input when shorter). */
export function downsample(points: readonly CurvePoint[], max: number): CurvePoint[] {
  if (points.length <= max) return points.slice();
  const out: CurvePoint[] = [];
  for (let b = 0; b < max; b++) {
    const lo = Math.floor((b * points.length) / max);
    const hi = Math.floor(((b + 1) * points.length) / max);
    let s = 0;
    let v = 0;
    for (let i = lo; i < hi; i++) {
      s += points[i]!.step;
      v += points[i]!.value;
    }
    out.push({ step: s / (hi - lo), value: v / (hi - lo) });
  }
  return out;
}

/** A range [lo, hi] with hi > lo around [min, max] (padded when they are equal, or equal but for rounding). */
function padRange(min: number, max: number): [number, number] {
  if (max - min > 1e-9 * Math.max(Math.abs(min), Math.abs(max))) return [min, max];
  const d = Math.abs(min) > 0 ? Math.abs(min) * 0.05 : 1;
  return [min - d, max + d];
}

/** Round tick positions (1, 2 or 5 x 10^k apart) inside [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  const first = Math.ceil(lo / step);
  // Integer multiples of the step (no accumulated rounding), at most a few dozen.
  for (let i = first; out.length < 4 * count + 4; i++) {
    const t = i * step;
    if (t > hi + step * 1e-9) break;
    out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  }
  return out;
}

function tickLabel(v: number, ticks: number[]): string {
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : Math.abs(v) || 1;
  if (Math.abs(v) >= 1e6) return v.toExponential(1);
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

const num = (x: number): string => (Math.round(x * 100) / 100).toString();

interface Series {
  points: readonly CurvePoint[];
  cls: string;
  markers?: boolean;
}

interface Panel {
  x: number;
  y: number;
  w: number;
  h: number;
  title: string;
  yLabel: string;
  series: Series[];
  empty: string;
  /** The y range to draw (points beyond it are drawn at its edge); default: the data's. */
  yRange?: [number, number];
  /** Vertical marks at these steps, with a label. */
  marks?: { step: number; label: string }[];
  /** A line of text under the title. */
  note?: string;
}

function renderPanel(p: Panel): string {
  const m = { left: 62, right: 14, top: 28, bottom: 44 };
  const px = p.x + m.left;
  const py = p.y + m.top;
  const pw = p.w - m.left - m.right;
  const ph = p.h - m.top - m.bottom;
  const parts: string[] = [];
  parts.push(`<text class="title" x="${num(p.x + p.w / 2)}" y="${num(p.y + 18)}" text-anchor="middle">${escapeXml(p.title)}</text>`);
  const all = p.series.flatMap((s) => s.points);
  if (all.length === 0) {
    parts.push(`<rect class="frame" x="${num(px)}" y="${num(py)}" width="${num(pw)}" height="${num(ph)}"/>`);
    parts.push(`<text class="empty" x="${num(px + pw / 2)}" y="${num(py + ph / 2)}" text-anchor="middle">${escapeXml(p.empty)}</text>`);
    return `<g>${parts.join('')}</g>`;
  }
  let [xmin, xmax, ymin, ymax] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const q of all) {
    xmin = Math.min(xmin, q.step);
    xmax = Math.max(xmax, q.step);
    ymin = Math.min(ymin, q.value);
    ymax = Math.max(ymax, q.value);
  }
  if (p.yRange) [ymin, ymax] = p.yRange;
  const [x0, x1] = padRange(xmin, xmax);
  const [y0, y1] = padRange(ymin, ymax);
  const sx = (s: number): number => px + ((s - x0) / (x1 - x0)) * pw;
  const sy = (v: number): number => py + ph - ((Math.min(y1, Math.max(y0, v)) - y0) / (y1 - y0)) * ph;
  if (p.note) parts.push(`<text class="note" x="${num(px + pw)}" y="${num(py - 4)}" text-anchor="end">${escapeXml(p.note)}</text>`);
  for (const m of p.marks ?? []) {
    if (!(m.step >= x0 && m.step <= x1)) continue;
    const x = num(sx(m.step));
    parts.push(`<line class="mark" x1="${x}" y1="${num(py)}" x2="${x}" y2="${num(py + ph)}"/>`);
    parts.push(`<text class="mark-label" x="${x}" y="${num(py + 12)}" text-anchor="start" dx="3">${escapeXml(m.label)}</text>`);
  }
  // Grid, ticks and tick labels.
  const xt = niceTicks(x0, x1, 6);
  const yt = niceTicks(y0, y1, 5);
  for (const t of yt) {
    const y = num(sy(t));
    parts.push(`<line class="grid" x1="${num(px)}" y1="${y}" x2="${num(px + pw)}" y2="${y}"/>`);
    parts.push(`<line class="tick" x1="${num(px - 5)}" y1="${y}" x2="${num(px)}" y2="${y}"/>`);
    parts.push(`<text class="tick-label" x="${num(px - 8)}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(tickLabel(t, yt))}</text>`);
  }
  for (const t of xt) {
    const x = num(sx(t));
    parts.push(`<line class="tick" x1="${x}" y1="${num(py + ph)}" x2="${x}" y2="${num(py + ph + 5)}"/>`);
    parts.push(`<text class="tick-label" x="${x}" y="${num(py + ph + 18)}" text-anchor="middle">${escapeXml(tickLabel(t, xt))}</text>`);
  }
  // Axes and labels.
  parts.push(`<line class="axis" x1="${num(px)}" y1="${num(py)}" x2="${num(px)}" y2="${num(py + ph)}"/>`);
  parts.push(`<line class="axis" x1="${num(px)}" y1="${num(py + ph)}" x2="${num(px + pw)}" y2="${num(py + ph)}"/>`);
  parts.push(`<text class="axis-label" x="${num(px + pw / 2)}" y="${num(p.y + p.h - 6)}" text-anchor="middle">step</text>`);
  const ly = num(py + ph / 2);
  const lx = num(p.x + 14);
  parts.push(`<text class="axis-label" x="${lx}" y="${ly}" text-anchor="middle" transform="rotate(-90 ${lx} ${ly})">${escapeXml(p.yLabel)}</text>`);
  // The data.
  for (const s of p.series) {
    if (s.points.length === 0) continue;
    const pts = s.points.map((q) => `${num(sx(q.step))},${num(sy(q.value))}`);
    parts.push(`<polyline class="${escapeXml(s.cls)}" fill="none" points="${pts.join(' ')}"/>`);
    if (s.markers || s.points.length === 1) {
      for (const q of s.points) parts.push(`<circle class="${escapeXml(s.cls)}-dot" cx="${num(sx(q.step))}" cy="${num(sy(q.value))}" r="3"/>`);
    }
  }
  return `<g>${parts.join('')}</g>`;
}

/** A panel that states one value (a single evaluation) instead of plotting a lone dot. */
function renderValue(p: { x: number; y: number; w: number; h: number; title: string; point: CurvePoint }): string {
  const cx = num(p.x + p.w / 2);
  const v = p.point.value;
  const text = v >= 100 ? v.toFixed(1) : v.toPrecision(4);
  return (
    `<g><text class="title" x="${cx}" y="${num(p.y + 18)}" text-anchor="middle">${escapeXml(p.title)}</text>` +
    `<text class="value" x="${cx}" y="${num(p.y + p.h / 2)}" text-anchor="middle">${escapeXml(text)}</text>` +
    `<text class="note" x="${cx}" y="${num(p.y + p.h / 2 + 28)}" text-anchor="middle">${escapeXml(`one evaluation, at step ${fmtStep(p.point.step)} (--eval-every N for a curve)`)}</text></g>`
  );
}

const fmtStep = (s: number): string => (Number.isInteger(s) ? String(s) : s.toFixed(1));

const finite = (pts: readonly CurvePoint[]): CurvePoint[] => pts.filter((q) => Number.isFinite(q.step) && Number.isFinite(q.value));

/** The loss and validation-perplexity curves as a standalone SVG document (no XML prolog, so it also inlines into HTML). */
export function renderCurvesSvg(c: CurvesInput): string {
  const loss = finite(c.loss ?? []);
  const ppl = finite(c.validPpl ?? []);
  const h = c.smoothing ?? defaultHalfWindow(loss.length);
  const raw = loss.map((q) => q.value);
  // Outliers (spikes): further from the running median than 8 times the median such distance
  // (runs of 20 points or more). They stay in the raw line, drawn at the axis's edge, and are
  // replaced by the running median in the smoothed curve and left out of the axis range.
  const outlier = new Array<boolean>(raw.length).fill(false);
  let med: number[] = raw;
  if (raw.length >= 20) {
    med = runningMedian(raw, Math.max(2, h));
    const dev = raw.map((v, i) => Math.abs(v - med[i]!));
    const cut = 8 * Math.max(quantile(dev, 0.5), 1e-6 * Math.max(...raw.map(Math.abs)));
    dev.forEach((d, i) => (outlier[i] = d > cut));
  }
  const smooth = smoothCentered(
    raw.map((v, i) => (outlier[i] ? med[i]! : v)),
    h,
  ).map((value, i) => ({ step: loss[i]!.step, value }));
  let yRange: [number, number] | undefined;
  let note: string | undefined;
  const off = outlier.filter(Boolean).length;
  if (off > 0) {
    const inside = [...raw.filter((_, i) => !outlier[i]), ...smooth.map((q) => q.value)];
    yRange = [Math.min(...inside), Math.max(...inside)];
    note = `${off} raw point${off === 1 ? '' : 's'} beyond the axis (drawn at its edge; max ${Math.max(...raw).toPrecision(4)})`;
  }
  const marks = (c.resumedAt ?? []).map((step) => ({ step, label: `resumed at ${step}` }));
  const W = 880;
  const top = c.title ? 24 : 0;
  const H = 320 + top;
  const validPanel =
    ppl.length === 1
      ? renderValue({ x: W / 2, y: top, w: W / 2, h: 320, title: 'validation perplexity', point: ppl[0]! })
      : renderPanel({
          x: W / 2,
          y: top,
          w: W / 2,
          h: 320,
          title: 'validation perplexity',
          yLabel: 'perplexity',
          series: [{ points: ppl, cls: 'ppl', markers: true }],
          empty: 'no evaluations',
        });
  const panels = [
    renderPanel({
      x: 0,
      y: top,
      w: W / 2,
      h: 320,
      title: h > 0 ? `training loss (centred mean of ${2 * h + 1} steps)` : 'training loss',
      yLabel: 'loss (nats/token)',
      series: h > 0 ? [{ points: loss, cls: 'loss-raw' }, { points: smooth, cls: 'loss' }] : [{ points: loss, cls: 'loss' }],
      empty: 'no training steps',
      ...(yRange ? { yRange } : {}),
      ...(note ? { note } : {}),
      marks,
    }),
    validPanel,
  ];
  const style =
    '.title{font:600 13px sans-serif;fill:#222}.axis-label{font:12px sans-serif;fill:#444}.tick-label{font:11px sans-serif;fill:#555}' +
    '.axis,.tick{stroke:#444;stroke-width:1}.grid{stroke:#e4e4e4;stroke-width:1}.frame{fill:none;stroke:#ccc}.empty{font:12px sans-serif;fill:#888}' +
    '.loss-raw{stroke:#1f77b4;stroke-opacity:.3;stroke-width:1}.loss{stroke:#1f77b4;stroke-width:2}' +
    '.ppl{stroke:#d62728;stroke-width:2}.ppl-dot{fill:#d62728}.loss-dot,.loss-raw-dot{fill:#1f77b4}' +
    '.mark{stroke:#888;stroke-dasharray:4 3}.mark-label,.note{font:11px sans-serif;fill:#666}.value{font:600 34px sans-serif;fill:#d62728}';
  const title = c.title ? `<text class="title" x="${W / 2}" y="17" text-anchor="middle">${escapeXml(c.title)}</text>` : '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">` +
    `<style>${style}</style><rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>${title}${panels.join('')}</svg>\n`
  );
}

export interface ReportSample {
  prompt: string;
  seed: number;
  text: string;
}

export interface ReportInput {
  title: string;
  /** The run's configuration (flags / options), shown as a table. */
  config: Record<string, unknown>;
  /** How text became ids, e.g. "word (Brown, whitespace-split)" or "bpe". */
  tokenizer: string;
  vocabSize: number;
  model: string;
  parameters: number;
  steps: number;
  /** Training time in seconds. */
  seconds: number;
  tokensPerSecond: number;
  validPpl: number;
  testPpl: number | null;
  /** The curves (renderCurvesSvg's output), inlined. */
  svg: string;
  samples: ReportSample[];
  /** Why there are no samples (e.g. a masked LM), or how they were drawn. */
  samplesNote?: string;
  /** Lines the run printed (corpus, model, ...). */
  log?: string[];
  /** Steps where the run was resumed from a checkpoint. */
  resumedAt?: readonly number[];
  createdAt?: string;
}

const fmtNum = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits }) : String(x));

function configValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
}

/** The report as one self-contained HTML page (inline CSS and SVG, no script). */
export function renderReportHtml(r: ReportInput): string {
  const e = escapeXml;
  const row = (k: string, v: string): string => `<tr><th>${e(k)}</th><td>${e(v)}</td></tr>`;
  const summary = [
    row('model', r.model),
    row('parameters', fmtNum(r.parameters, 0)),
    row('tokenizer', r.tokenizer),
    row('vocabulary', fmtNum(r.vocabSize, 0)),
    row('steps', fmtNum(r.steps, 0)),
    ...(r.resumedAt && r.resumedAt.length > 0 ? [row('resumed at step', r.resumedAt.map((x) => fmtNum(x, 0)).join(', '))] : []),
    row('training time', `${fmtNum(r.seconds, 1)} s`),
    row('training tokens/s', fmtNum(r.tokensPerSecond, 0)),
    row('valid perplexity', fmtNum(r.validPpl, 2)),
    row('test perplexity', r.testPpl === null ? '(not evaluated)' : fmtNum(r.testPpl, 2)),
  ].join('');
  const config = Object.entries(r.config)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => row(k, configValue(v)))
    .join('');
  const samples =
    r.samples.length > 0
      ? `<ol class="samples">${r.samples
          .map((s) => `<li><span class="meta">seed ${e(String(s.seed))}, prompt</span> <b>${e(s.prompt)}</b><br><span class="text">${e(s.text)}</span></li>`)
          .join('')}</ol>`
      : '';
  const note = r.samplesNote ? `<p class="note">${e(r.samplesNote)}</p>` : '';
  const log = r.log && r.log.length > 0 ? `<h2>Log</h2><pre>${e(r.log.join('\n'))}</pre>` : '';
  const css =
    'body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:920px;color:#222;padding:0 1em}' +
    'h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}table{border-collapse:collapse}th,td{text-align:left;padding:2px 12px 2px 0;vertical-align:top}' +
    'th{font-weight:600;color:#555}td{font-family:ui-monospace,monospace;word-break:break-all}pre{background:#f6f6f6;padding:.6em;overflow-x:auto;white-space:pre-wrap}' +
    '.samples li{margin-bottom:.6em}.meta,.note{color:#666}.text{font-family:ui-monospace,monospace}svg{max-width:100%;height:auto}';
  return (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    `<title>${e(r.title)}</title>\n<style>${css}</style>\n</head>\n<body>\n` +
    `<h1>${e(r.title)}</h1>\n` +
    (r.createdAt ? `<p class="meta">${e(r.createdAt)}</p>\n` : '') +
    `<h2>Result</h2>\n<table class="summary">${summary}</table>\n` +
    `<h2>Curves</h2>\n${r.svg}\n` +
    `<h2>Samples</h2>\n${note}${samples}\n` +
    `<h2>Configuration</h2>\n<table class="config">${config}</table>\n` +
    `${log}\n</body>\n</html>\n`
  );
}
