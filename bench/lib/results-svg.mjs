// The compose benchmark's chart, as a hand-written SVG (no dependency): one panel per scenario,
// grouped bars per phase (sand-boxer vs baseline, median), whiskers for min–max, seconds on the axis.
// `node bench/lib/results-svg.mjs` redraws bench/results/compose-vs-baseline.svg from the JSON.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PHASES, SCENARIOS } from './compose-report.mjs';
import { bytes } from './stats.mjs';

const COLORS = { sandboxer: '#2b6cb0', baseline: '#a0aec0' };
const escapeXml = (text) => String(text).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A step of 1, 2 or 5 × 10^k that gives about five ticks up to `max`. */
function niceStep(max) {
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? rough;
}

/**
 * @param {{ title: string, subtitle: string,
 *   panels: { title: string, phases: Record<string, { sandboxer?: {median:number,min:number,max:number},
 *     baseline?: {median:number,min:number,max:number} }> }[] }} data  times in ms
 * @returns {string}
 */
export function renderChart(data) {
  const width = 960;
  const panelHeight = 230;
  const top = 84;
  const left = 60;
  const plotWidth = width - left - 30;
  const out = [];
  const height = top + data.panels.length * panelHeight + 10;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(`${data.title}. ${data.subtitle}`)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${left}" y="24" font-size="16" font-weight="bold">${escapeXml(data.title)}</text>`,
    `<text x="${left}" y="44" fill="#555">${escapeXml(data.subtitle)}</text>`,
  );
  let lx = left;
  for (const [tool, label] of [
    ['sandboxer', 'sand-boxer'],
    ['baseline', 'baseline (make e2e)'],
  ]) {
    out.push(
      `<rect x="${lx}" y="54" width="12" height="12" fill="${COLORS[tool]}"/>`,
      `<text x="${lx + 16}" y="64">${label}</text>`,
    );
    lx += 110;
  }
  data.panels.forEach((panel, p) => {
    const y0 = top + p * panelHeight;
    const plotTop = y0 + 24;
    const plotHeight = panelHeight - 70;
    const base = plotTop + plotHeight;
    const values = PHASES.flatMap((ph) =>
      ['sandboxer', 'baseline'].map((t) => panel.phases[ph]?.[t]?.max ?? 0),
    ).filter(Number.isFinite);
    const maxS = Math.max(0.1, ...values) / 1000;
    const step = niceStep(maxS);
    const top_ = Math.ceil(maxS / step) * step;
    const yOf = (ms) => +(base - (Math.min(ms / 1000, top_) / top_) * plotHeight).toFixed(1);
    out.push(`<text x="${left}" y="${y0 + 12}" font-weight="bold">${escapeXml(panel.title)}</text>`);
    if (panel.note) {
      out.push(
        `<text x="${width - 30}" y="${y0 + 12}" text-anchor="end" fill="#555">${escapeXml(panel.note)}</text>`,
      );
    }
    for (let v = 0; v <= top_ + 1e-9; v += step) {
      const y = yOf(v * 1000);
      out.push(
        `<line x1="${left}" x2="${left + plotWidth}" y1="${y}" y2="${y}" stroke="#e2e8f0"/>`,
        `<text x="${left - 6}" y="${y + 4}" text-anchor="end" fill="#555">${+v.toFixed(2)} s</text>`,
      );
    }
    const groupWidth = plotWidth / PHASES.length;
    const barWidth = Math.min(34, groupWidth / 3);
    PHASES.forEach((phase, g) => {
      const gx = left + g * groupWidth + groupWidth / 2;
      ['sandboxer', 'baseline'].forEach((tool, t) => {
        const s = panel.phases[phase]?.[tool];
        if (!s || !Number.isFinite(s.median)) return;
        const x = gx - barWidth + t * barWidth;
        const y = yOf(s.median);
        out.push(
          `<rect x="${x + 1}" y="${y}" width="${barWidth - 2}" height="${Math.max(0, base - y).toFixed(1)}" fill="${COLORS[tool]}"><title>${tool === 'sandboxer' ? 'sand-boxer' : 'baseline'} ${phase}: median ${(s.median / 1000).toFixed(2)} s (min ${(s.min / 1000).toFixed(2)}, max ${(s.max / 1000).toFixed(2)})</title></rect>`,
        );
        if (s.max > s.min) {
          const cx = x + barWidth / 2;
          out.push(
            `<line x1="${cx}" x2="${cx}" y1="${yOf(s.min)}" y2="${yOf(s.max)}" stroke="#1a202c"/>`,
            `<line x1="${cx - 4}" x2="${cx + 4}" y1="${yOf(s.max)}" y2="${yOf(s.max)}" stroke="#1a202c"/>`,
            `<line x1="${cx - 4}" x2="${cx + 4}" y1="${yOf(s.min)}" y2="${yOf(s.min)}" stroke="#1a202c"/>`,
          );
        }
        out.push(
          `<text x="${x + barWidth / 2}" y="${Math.min(y, yOf(s.max)) - 4}" text-anchor="middle" font-size="10">${(s.median / 1000).toFixed(1)}</text>`,
        );
      });
      out.push(`<text x="${gx}" y="${base + 16}" text-anchor="middle">${phase}</text>`);
      const sbx = panel.phases[phase]?.sandboxer?.median;
      const bl = panel.phases[phase]?.baseline?.median;
      if (Number.isFinite(sbx) && Number.isFinite(bl) && bl > 0) {
        out.push(
          `<text x="${gx}" y="${base + 30}" text-anchor="middle" fill="#555" font-size="11">${(sbx / bl).toFixed(2)}× baseline</text>`,
        );
      }
    });
    out.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${base}" y2="${base}" stroke="#4a5568"/>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The chart of a compose-vs-baseline result (the JSON the benchmark writes). */
export function chartOf(out) {
  const { small, large } = out.fixtures;
  return renderChart({
    title: 'ext.compose-ssh vs make e2e: create+destroy by phase (median, min–max)',
    subtitle: `${out.settings.runs} runs each · small ${small.files} files / ${bytes(small.bytes)} · large ${large.files} files / ${bytes(large.bytes)} · ${out.generated_at.slice(0, 10)}`,
    panels: SCENARIOS.filter(({ key }) => out.scenarios[key]).map(({ key, title }) => {
      const sc = out.scenarios[key];
      return {
        title,
        note: `sent per create: ${bytes(sc.sandboxer.bytes_sent_create.median)} vs ${bytes(sc.baseline.bytes_sent_create.median)} · SSH logins: ${sc.sandboxer.ssh_logins_create.median} vs ${sc.baseline.ssh_logins_create.median}`,
        phases: Object.fromEntries(
          PHASES.map((p) => [p, { sandboxer: sc.sandboxer.phases[p], baseline: sc.baseline.phases[p] }]),
        ),
      };
    }),
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = join(import.meta.dirname, '..', 'results');
  const out = JSON.parse(readFileSync(join(results, 'compose-vs-baseline.json'), 'utf8'));
  writeFileSync(join(results, 'compose-vs-baseline.svg'), chartOf(out));
}
