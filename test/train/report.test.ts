// The training report (lib/train/report.ts): the SVG curves and the HTML page are
// well-formed, scale without NaN, escape their text; `lmkit train --out` writes both.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import {
  downsample,
  escapeXml,
  niceTicks,
  renderCurvesSvg,
  quantile,
  renderReportHtml,
  smoothCentered,
  smoothEma,
  type CurvePoint,
  type ReportInput,
} from '../../lib/train/report.js';

const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link']);

/** Throws unless every tag is closed in order (self-closing and HTML void tags aside) and no stray < or & is left in text. */
function expectWellFormed(doc: string): void {
  const body = doc.replace(/^<!DOCTYPE html>\s*/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(body); m !== null; m = tag.exec(body)) {
    const text = body.slice(last, m.index);
    expect(text, `stray '<' before ${m[0]}`).not.toMatch(/</);
    expect(text, 'unescaped & in text').not.toMatch(/&(?!(amp|lt|gt|quot|#39);)/);
    last = tag.lastIndex;
    const [, close, name, , self] = m;
    const n = name!.toLowerCase();
    if (self || (!close && VOID.has(n))) continue;
    if (!close) stack.push(n);
    else expect(stack.pop(), `</${n}> closes the wrong element`).toBe(n);
  }
  expect(body.slice(last)).not.toMatch(/</);
  expect(stack, 'unclosed elements').toEqual([]);
}

function polylinePoints(svg: string, cls: string): string[] {
  const m = new RegExp(`<polyline class="${cls}" fill="none" points="([^"]*)"`).exec(svg);
  if (!m) throw new Error(`no polyline of class ${cls}`);
  return m[1]!.split(' ');
}

function coords(svg: string): number[] {
  const out: number[] = [];
  for (const m of svg.matchAll(/\b(?:x|y|x1|x2|y1|y2|cx|cy)="([^"]*)"/g)) out.push(Number(m[1]));
  for (const m of svg.matchAll(/points="([^"]*)"/g)) for (const p of m[1]!.split(/[ ,]/)) out.push(Number(p));
  return out;
}

const curve = (n: number, f: (i: number) => number, from = 1): CurvePoint[] => Array.from({ length: n }, (_, i) => ({ step: from + i, value: f(i) }));

describe('renderCurvesSvg', () => {
  it('is well-formed, with one polyline point per input point, ticks and axis labels', () => {
    const loss = curve(137, (i) => 9 - 4 * (1 - Math.exp(-i / 30)) + 0.3 * Math.sin(i));
    const ppl = [
      { step: 50, value: 900 },
      { step: 100, value: 420 },
      { step: 137, value: 380 },
    ];
    const svg = renderCurvesSvg({ loss, validPpl: ppl, title: 'ffnn on brown' });
    expectWellFormed(svg);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(polylinePoints(svg, 'loss-raw')).toHaveLength(137);
    expect(polylinePoints(svg, 'loss')).toHaveLength(137);
    expect(polylinePoints(svg, 'ppl')).toHaveLength(3);
    expect(svg.match(/<circle class="ppl-dot"/g)).toHaveLength(3);
    expect(svg).toMatch(/>step</);
    expect(svg).toMatch(/>loss \(nats\/token\)</);
    expect(svg).toMatch(/>perplexity</);
    expect(svg.match(/class="tick-label"/g)!.length).toBeGreaterThanOrEqual(10);
    for (const c of coords(svg)) expect(Number.isFinite(c)).toBe(true);
    // Points lie inside the 880 x (320 + title) canvas.
    for (const c of coords(svg)) expect(c).toBeGreaterThanOrEqual(0);
  });

  it('draws a single point and constant series without NaN', () => {
    for (const [loss, ppl] of [
      [curve(1, () => 5), [{ step: 1, value: 150 }]],
      [curve(40, () => 2.5), curve(4, () => 100, 10)],
      [curve(3, () => 0), curve(2, () => 0)],
    ] as [CurvePoint[], CurvePoint[]][]) {
      const svg = renderCurvesSvg({ loss, validPpl: ppl });
      expectWellFormed(svg);
      expect(svg).not.toMatch(/NaN|Infinity/);
      for (const c of coords(svg)) expect(Number.isFinite(c)).toBe(true);
      expect(polylinePoints(svg, 'loss')).toHaveLength(loss.length);
      // One evaluation is written out as a value, more are plotted.
      if (ppl.length === 1) expect(svg).toContain(`<text class="value"`);
      else expect(polylinePoints(svg, 'ppl')).toHaveLength(ppl.length);
      expect(svg.match(/class="tick-label"/g)!.length).toBeGreaterThanOrEqual(4);
    }
    const one = renderCurvesSvg({ loss: curve(1, () => 5), validPpl: [] });
    expect(one).toMatch(/<circle class="loss-dot"/);
    expect(one).toMatch(/no evaluations/);
  });

  it('leaves out non-finite values; an empty series says so; the title is escaped', () => {
    const svg = renderCurvesSvg({
      loss: [{ step: 1, value: 3 }, { step: 2, value: Number.NaN }, { step: 3, value: Infinity }, { step: 4, value: 2 }],
      validPpl: [],
      title: '<script>alert("x")</script> & co',
    });
    expectWellFormed(svg);
    expect(polylinePoints(svg, 'loss')).toHaveLength(2);
    expect(svg).not.toMatch(/NaN|Infinity|<script>/);
    expect(svg).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co');
    const empty = renderCurvesSvg({ loss: [], validPpl: [] });
    expectWellFormed(empty);
    expect(empty).toMatch(/no training steps/);
    expect(empty).not.toMatch(/<polyline/);
  });

  it('helpers: nice ticks, debiased EMA, bucket downsampling, escaping', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(1, 1)).toEqual([]);
    expect(niceTicks(0.13, 0.52, 4)).toEqual([0.2, 0.3, 0.4, 0.5].map((x) => expect.closeTo(x, 12)));
    expect(smoothEma([4, 4, 4], 0.9)).toEqual([4, 4, 4].map((x) => expect.closeTo(x, 12)));
    expect(smoothEma([1, 3], 0)).toEqual([1, 3]);
    const d = downsample(curve(10, (i) => i), 5);
    expect(d).toEqual([0, 2, 4, 6, 8].map((i) => ({ step: i + 1.5, value: i + 0.5 })));
    expect(downsample(curve(3, (i) => i), 5)).toHaveLength(3);
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

function reportInput(over: Partial<ReportInput> = {}): ReportInput {
  return {
    title: 'lmkit train: ffnn on brown',
    config: { model: 'ffnn', corpus: 'brown', steps: 30, lr: 0.002, direct: false, evalTokens: 2000 },
    tokenizer: 'word (whitespace-split, vocabulary 14114)',
    vocabSize: 14114,
    model: 'ffnn',
    parameters: 1578704,
    steps: 30,
    seconds: 1.5,
    tokensPerSecond: 5120,
    validPpl: 5517.4,
    testPpl: 5616.9,
    svg: renderCurvesSvg({ loss: curve(30, (i) => 9 - i / 10), validPpl: [{ step: 30, value: 5517.4 }] }),
    samples: [
      { prompt: 'The', seed: 1, text: 'jury said that it was' },
      { prompt: '<script>alert(1)</script>', seed: 2, text: 'a </li><script>steal()</script> & "quotes"' },
    ],
    samplesNote: 'Samples: 30 tokens, temperature 0.8',
    log: ['corpus brown: 800000 train <tokens>'],
    ...over,
  };
}

describe('renderReportHtml', () => {
  it('is a well-formed page with the config, the results, the inlined SVG and the samples', () => {
    const html = renderReportHtml(reportInput());
    expectWellFormed(html);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    for (const k of ['model', 'corpus', 'steps', 'lr', 'direct', 'evalTokens']) expect(html).toContain(`<th>${k}</th>`);
    expect(html).toContain('<td>0.002</td>');
    expect(html).toContain('<td>false</td>');
    expect(html).toContain('1,578,704');
    expect(html).toContain('5,616.9');
    expect(html).toContain('word (whitespace-split, vocabulary 14114)');
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(html).toContain('jury said that it was');
    expect(html.match(/<li>/g)).toHaveLength(2);
    expect(html).not.toMatch(/<script/i);
  });

  it('escapes <script> and markup in prompts, samples, config and log', () => {
    const html = renderReportHtml(
      reportInput({ config: { corpus: '<script>x</script>.txt', model: 'ffnn' }, title: 'a <b>title</b>' }),
    );
    expectWellFormed(html);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('a &lt;/li&gt;&lt;script&gt;steal()&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(html).toContain('<td>&lt;script&gt;x&lt;/script&gt;.txt</td>');
    expect(html).toContain('800000 train &lt;tokens&gt;');
    expect(html).toContain('<title>a &lt;b&gt;title&lt;/b&gt;</title>');
  });

  it('shows the note alone when there are no samples, and a missing test perplexity', () => {
    const html = renderReportHtml(reportInput({ samples: [], samplesNote: 'No samples: a masked LM does not generate', testPpl: null }));
    expectWellFormed(html);
    expect(html).toContain('No samples: a masked LM does not generate');
    expect(html).not.toMatch(/<ol/);
    expect(html).toContain('(not evaluated)');
  });
});

describe('lmkit train --out writes curves.svg and report.html', () => {
  it('ffnn, 30 steps', () => {
    const cli = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));
    const root = mkdtempSync(join(tmpdir(), 'lmkit-report-'));
    try {
      const out = join(root, 'run');
      const r = spawnSync(process.execPath, [cli, 'train', '--model', 'ffnn', '--steps', '30', '--eval-tokens', '2000', '--out', out], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, LMKIT_NUM_THREADS: '1' },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`report: ${join(out, 'report.html')}`);
      const svg = readFileSync(join(out, 'curves.svg'), 'utf8');
      expectWellFormed(svg);
      expect(polylinePoints(svg, 'loss')).toHaveLength(30);
      // The final evaluation, the only one: written as a value, not a one-dot plot.
      expect(svg).not.toMatch(/<polyline class="ppl"/);
      expect(svg).toMatch(/<text class="value"[^>]*>\d+\.\d<\/text>/);
      expect(svg).toContain('one evaluation, at step 30');
      const html = readFileSync(join(out, 'report.html'), 'utf8');
      expectWellFormed(html);
      expect(html).toContain(svg.trim());
      expect(html).toContain('<th>evalTokens</th><td>2000</td>');
      // The effective configuration: defaults included, not only the flags given.
      for (const [k, v] of [['lr', '0.002'], ['batch', '256'], ['context', '4'], ['embed', '60'], ['hidden', '50'], ['optimizer', 'adamw'],
        ['schedule', 'constant'], ['clip', 'none'], ['optimizer.beta1', '0.9'], ['optimizer.weightDecay', '0'], ['vocabSize', '14114'],
        ['tokenizer', 'word (whitespace-split)'], ['seed', '1']]) {
        expect(html).toContain(`<th>${k}</th><td>${v}</td>`);
      }
      expect(html).not.toContain('<th>heads</th>'); // ffnn has no heads
      expect(html).toContain('word (whitespace-split, vocabulary 14114)');
      expect(html.match(/<li>/g)).toHaveLength(3);
      for (const seed of [1, 2, 3]) expect(html).toContain(`seed ${seed}, prompt`);
      expect(html).not.toMatch(/NaN/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the loss curve and its axis', () => {
  // A loss that falls fast in the first 40 steps (9.6 -> ~6), then slowly, with noise.
  const fall = (i: number): number => 6 + 3.6 * Math.exp(-i / 12) - i / 1000;
  const noisy = curve(300, (i) => fall(i) + 0.15 * Math.sin(i * 2.1));

  it('the smoothed curve lies on the raw loss from the first step (no EMA lag)', () => {
    const svg = renderCurvesSvg({ loss: noisy, validPpl: [] });
    const h = Number(/centred mean of (\d+) steps/.exec(svg)![1]);
    expect(h).toBeGreaterThan(1);
    const smoothed = smoothCentered(noisy.map((q) => q.value), (h - 1) / 2);
    expect(smoothed[0]).toBe(noisy[0]!.value);
    // Within 0.35 nats of the noise-free trend everywhere, also in the first 40 steps.
    for (let i = 0; i < 300; i++) expect(Math.abs(smoothed[i]! - fall(i)), `step ${i + 1}`).toBeLessThan(0.35);
    // A trailing EMA of the same strength (even debiased) lags far above in the first steps.
    const ema = smoothEma(noisy.map((q) => q.value), 1 - 1 / ((h - 1) / 2));
    expect(Math.max(...ema.slice(5, 40).map((v, i) => v - fall(i + 5)))).toBeGreaterThan(0.5);
    expect(smoothCentered([1, 2, 3, 4, 5, 6, 7], 3)).toEqual([1, 2, 3, 4, 5, 6, 7]); // a line is kept exactly
  });

  it('one spike does not blow up the loss axis; it is counted in a note', () => {
    const spiky = noisy.map((q, i) => (i === 150 ? { ...q, value: 80 } : q));
    const svg = renderCurvesSvg({ loss: spiky, validPpl: [] });
    expectWellFormed(svg);
    const yTicks = [...svg.matchAll(/<text class="tick-label" x="([\d.]+)" y="([\d.]+)" text-anchor="end"[^>]*>([^<]*)</g)].map((m) => Number(m[3]));
    expect(Math.max(...yTicks)).toBeLessThan(12);
    expect(svg).toContain('1 raw point beyond the axis (drawn at its edge; max 80.00)');
    for (const c of coords(svg)) expect(Number.isFinite(c)).toBe(true);
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
  });

  it('marks the resume points', () => {
    const svg = renderCurvesSvg({ loss: noisy, validPpl: [{ step: 100, value: 500 }, { step: 300, value: 400 }], resumedAt: [120] });
    expectWellFormed(svg);
    expect(svg).toMatch(/<line class="mark"/);
    expect(svg).toContain('resumed at 120');
    expect(polylinePoints(svg, 'ppl')).toHaveLength(2);
  });
});

describe('the report of a resumed run covers the whole run', () => {
  it('ffnn: 12 steps, resumed to 20', () => {
    const cli = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));
    const root = mkdtempSync(join(tmpdir(), 'lmkit-report-resume-'));
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [cli, 'train', ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LMKIT_NUM_THREADS: '1' } });
    try {
      const out = join(root, 'run');
      const a = run('--model', 'ffnn', '--steps', '12', '--eval-every', '6', '--eval-tokens', '1000', '--no-test', '--out', out);
      expect(a.status, a.stderr).toBe(0);
      const b = run('--resume', out, '--steps', '20');
      expect(b.status, b.stderr).toBe(0);
      const svg = readFileSync(join(out, 'curves.svg'), 'utf8');
      expectWellFormed(svg);
      expect(polylinePoints(svg, 'loss-raw')).toHaveLength(20); // all steps, the first 12 from the checkpoint's history
      expect(polylinePoints(svg, 'ppl')).toHaveLength(4); // evaluations at 6, 12 (first run), 18 and 20
      expect(svg).toContain('resumed at 12');
      const html = readFileSync(join(out, 'report.html'), 'utf8');
      expect(html).toContain('<tr><th>resumed at step</th><td>12</td></tr>');
      expect(html).toContain('<th>steps</th><td>20</td>');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 90_000);
});
