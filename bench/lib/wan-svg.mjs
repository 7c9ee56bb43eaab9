// The WAN benchmark's chart, a hand-written SVG like results-svg.mjs: left, seconds against RTT for
// each tool and scenario (median, min–max whiskers); right, the ratio sand-boxer / baseline against
// RTT, with issue 22's targets at 50 ms marked.
// `node bench/lib/wan-svg.mjs` redraws bench/results/wan.svg from bench/results/wan.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const escapeXml = (text) => String(text).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const SERIES = {
  small_cold: { label: 'small cold create+destroy', color: '#2b6cb0', measure: 'total', target: 0.6 },
  large_warm: { label: 'large warm re-create', color: '#c05621', measure: 'create', target: 0.15 },
};

function niceStep(max) {
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? rough;
}

/** One plot: axes, grid, ticks; returns the mapping from data to pixels. */
function axes(out, { x0, y0, w, h, xMax, yMax, yLabel, title }) {
  const xStep = niceStep(xMax);
  const yStep = niceStep(yMax);
  const xTop = Math.ceil(xMax / xStep) * xStep;
  const yTop = Math.ceil(yMax / yStep) * yStep;
  const px = (x) => +(x0 + (x / xTop) * w).toFixed(1);
  const py = (y) => +(y0 + h - (Math.min(y, yTop) / yTop) * h).toFixed(1);
  out.push(`<text x="${x0}" y="${y0 - 10}" font-weight="bold">${escapeXml(title)}</text>`);
  for (let v = 0; v <= yTop + 1e-9; v += yStep) {
    out.push(
      `<line x1="${x0}" x2="${x0 + w}" y1="${py(v)}" y2="${py(v)}" stroke="#e2e8f0"/>`,
      `<text x="${x0 - 6}" y="${py(v) + 4}" text-anchor="end" fill="#555">${+v.toFixed(2)}${yLabel}</text>`,
    );
  }
  for (let v = 0; v <= xTop + 1e-9; v += xStep) {
    out.push(`<text x="${px(v)}" y="${y0 + h + 16}" text-anchor="middle" fill="#555">${v}</text>`);
  }
  out.push(
    `<line x1="${x0}" x2="${x0 + w}" y1="${y0 + h}" y2="${y0 + h}" stroke="#4a5568"/>`,
    `<text x="${x0 + w / 2}" y="${y0 + h + 32}" text-anchor="middle">RTT (ms)</text>`,
  );
  return { px, py };
}

function polyline(out, points, color, dashed = false) {
  out.push(
    `<polyline fill="none" stroke="${color}" stroke-width="2"${dashed ? ' stroke-dasharray="6 4"' : ''} points="${points.map(([x, y]) => `${x},${y}`).join(' ')}"/>`,
  );
  for (const [x, y, tip] of points) {
    out.push(`<circle cx="${x}" cy="${y}" r="3.5" fill="${color}"><title>${escapeXml(tip)}</title></circle>`);
  }
}

/** The chart of a wan result (the JSON the benchmark writes). */
export function wanChart(result) {
  const width = 960;
  const height = 420;
  const out = [];
  const keys = Object.keys(result.by_rtt[0]?.scenarios ?? {}).filter((k) => SERIES[k]);
  const rtts = result.by_rtt.map((r) => r.rtt_ms);
  const xMax = Math.max(...rtts, 1);
  const rate = Number.isFinite(result.settings.link_mbps)
    ? ` · ${result.settings.link_mbps} Mbit/s link`
    : '';
  const subtitle = `${result.settings.runs} runs each per RTT · delay proxy in front of sshd, both tools through it${rate} · ${result.generated_at.slice(0, 10)}`;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(`ext.compose-ssh vs make e2e across a WAN. ${subtitle}`)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    '<text x="60" y="24" font-size="16" font-weight="bold">ext.compose-ssh vs make e2e across a WAN (median)</text>',
    `<text x="60" y="44" fill="#555">${escapeXml(subtitle)}</text>`,
  );
  let lx = 60;
  for (const key of keys) {
    out.push(
      `<rect x="${lx}" y="56" width="12" height="12" fill="${SERIES[key].color}"/>`,
      `<text x="${lx + 16}" y="66">${SERIES[key].label}</text>`,
    );
    lx += 200;
  }
  out.push(
    `<line x1="${lx}" x2="${lx + 24}" y1="62" y2="62" stroke="#333" stroke-width="2"/><text x="${lx + 28}" y="66">sand-boxer</text>`,
    `<line x1="${lx + 110}" x2="${lx + 134}" y1="62" y2="62" stroke="#333" stroke-width="2" stroke-dasharray="6 4"/><text x="${lx + 138}" y="66">baseline</text>`,
  );
  const time = (sc, tool, measure) => (measure === 'total' ? sc[tool].phases.total : sc[tool].create_ms);
  // Left: seconds.
  const yMaxS =
    Math.max(
      ...result.by_rtt.flatMap((r) =>
        keys.flatMap((k) =>
          ['sandboxer', 'baseline'].map((t) => time(r.scenarios[k], t, SERIES[k].measure).max),
        ),
      ),
      1,
    ) / 1000;
  const left = axes(out, {
    x0: 60,
    y0: 110,
    w: 380,
    h: 250,
    xMax,
    yMax: yMaxS,
    yLabel: ' s',
    title: 'seconds',
  });
  for (const key of keys) {
    const { color, measure } = SERIES[key];
    for (const tool of ['sandboxer', 'baseline']) {
      const pts = result.by_rtt.map((r) => {
        const s = time(r.scenarios[key], tool, measure);
        return [
          left.px(r.rtt_ms),
          left.py(s.median / 1000),
          `${tool} ${key} at ${r.rtt_ms} ms: ${(s.median / 1000).toFixed(2)} s (${(s.min / 1000).toFixed(2)}–${(s.max / 1000).toFixed(2)})`,
        ];
      });
      polyline(out, pts, color, tool === 'baseline');
    }
  }
  // Right: ratio.
  const ratioOf = (sc, measure) => (measure === 'total' ? sc.ratios.total : sc.ratios.create);
  const yMaxR = Math.max(
    1,
    ...result.by_rtt.flatMap((r) => keys.map((k) => ratioOf(r.scenarios[k], SERIES[k].measure))),
  );
  const right = axes(out, {
    x0: 540,
    y0: 110,
    w: 380,
    h: 250,
    xMax,
    yMax: yMaxR,
    yLabel: '×',
    title: 'sand-boxer / baseline (targets at 50 ms: ◇)',
  });
  out.push(
    `<line x1="540" x2="920" y1="${right.py(1)}" y2="${right.py(1)}" stroke="#a0aec0" stroke-dasharray="2 3"/>`,
  );
  for (const key of keys) {
    const { color, measure, target } = SERIES[key];
    const pts = result.by_rtt.map((r) => {
      const v = ratioOf(r.scenarios[key], measure);
      return [right.px(r.rtt_ms), right.py(v), `${key} at ${r.rtt_ms} ms: ${v.toFixed(3)}×`, v];
    });
    polyline(out, pts, color);
    for (const [x, y, , v] of pts) {
      out.push(`<text x="${x + 6}" y="${y - 6}" font-size="10" fill="${color}">${v.toFixed(2)}×</text>`);
    }
    const tx = right.px(50);
    const ty = right.py(target);
    out.push(
      `<path d="M${tx} ${ty - 6} L${tx + 6} ${ty} L${tx} ${ty + 6} L${tx - 6} ${ty} Z" fill="none" stroke="${color}" stroke-width="1.5"><title>target ${target}× at 50 ms</title></path>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = join(import.meta.dirname, '..', 'results');
  const result = JSON.parse(readFileSync(join(results, 'wan.json'), 'utf8'));
  writeFileSync(join(results, 'wan.svg'), wanChart(result));
}
