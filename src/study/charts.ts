/**
 * The paper's figures as vega-lite specifications, plus headless rendering: vega-lite
 * compiles to vega, a `vega.View` with `renderer: 'none'` writes SVG, and sharp rasterises
 * the SVG to PNG. Specs are plain data (testable without rendering); vega, vega-lite and
 * sharp are imported lazily because stage modules import this file at start-up.
 */
import { LAYERS } from './names.ts';
import { pairLabel, type PairNaming } from './pairs.ts';
import type { CcaSummary } from './aggregate.ts';
import type { BandRecord, GainRecord, SimilarityRecord } from './records.ts';

/** A vega-lite top-level specification (kept loose: vega-lite validates it when compiling). */
export type VegaLiteSpec = Record<string, unknown>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
/** Colours close to the paper's (seaborn's deep palette: blue, orange, green, red, purple). */
const PAIR_COLOURS: Record<string, string> = {
  'B-ft~B': '#4c72b0',
  'A-ft~A': '#dd8452',
  'A-ft~B-ft': '#55a868',
  'A~B': '#c44e52',
  'random~random': '#8172b3',
};
const FALLBACK = ['#937860', '#da8bc3', '#8c8c8c', '#ccb974', '#64b5cd'];

function colourOf(id: string, k: number): string {
  return PAIR_COLOURS[id] ?? FALLBACK[k % FALLBACK.length]!;
}

/** One panel of Figure 3: the given comparisons' CCA per layer, mean with +-SD error bars. */
export function ccaPanelSpec(summaries: readonly CcaSummary[], naming: Omit<PairNaming, 'target'>, title: string): VegaLiteSpec {
  const values = summaries.flatMap((s) =>
    LAYERS.map((layer) => {
      const m = s.layers[layer];
      const sd = Number.isFinite(m.std) ? m.std : 0;
      return { pair: pairLabel(s.pair, naming), layer, mean: m.mean, lo: m.mean - sd, hi: m.mean + sd, n: m.n };
    }),
  );
  const labels = summaries.map((s) => pairLabel(s.pair, naming));
  const colours = summaries.map((s, k) => colourOf(s.pair.id, k));
  const x = { field: 'layer', type: 'ordinal', sort: [...LAYERS], title: 'layer', axis: { labelAngle: 0 } };
  const color = { field: 'pair', type: 'nominal', title: null, scale: { domain: labels, range: colours }, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 400 } };
  return {
    title,
    width: 260,
    height: 220,
    data: { values },
    layer: [
      { mark: { type: 'line' }, encoding: { x, y: { field: 'mean', type: 'quantitative', title: 'CCA similarity', scale: { domain: [0, 1] } }, color } },
      { mark: { type: 'point', filled: true, size: 40 }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color } },
      { mark: { type: 'rule' }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
    ],
  };
}

/**
 * Figure 3 for one target: panel (a) pretrained vs fine-tuned per source, panel (b) the
 * fine-tuned pair, the pretrained pair and random vs random, side by side.
 */
export function figure3Spec(summaries: readonly CcaSummary[], naming: PairNaming): VegaLiteSpec {
  const a = summaries.filter((s) => s.pair.figure === '3a');
  const b = summaries.filter((s) => s.pair.figure === '3b');
  const panels: VegaLiteSpec[] = [];
  if (a.length > 0) panels.push(ccaPanelSpec(a, naming, `(a) ${naming.target}: pretrained vs fine-tuned`));
  if (b.length > 0) panels.push(ccaPanelSpec(b, naming, `(b) ${naming.target}: across sources`));
  return { $schema: SCHEMA, hconcat: panels, resolve: { scale: { color: 'independent' } }, config: { view: { stroke: null } } };
}

/** Figure 5: per target, the fold values of observed similarity vs the independent baseline (no-freeze). */
export function figure5Spec(records: readonly SimilarityRecord[], opts: { freeze?: boolean } = {}): VegaLiteSpec {
  const freeze = opts.freeze ?? false;
  const values = records
    .filter((r) => r.freeze === freeze)
    .map((r) => ({ target: r.target, fold: r.fold, kind: r.prob === 'real' ? 'Observed' : 'Independent', value: r.value }));
  const targets = [...new Set(values.map((v) => v.target))];
  return {
    $schema: SCHEMA,
    title: `Prediction similarity (${freeze ? 'freeze' : 'no-freeze'})`,
    width: { step: 60 },
    height: 240,
    data: { values },
    mark: { type: 'boxplot', extent: 1.5, size: 20 },
    encoding: {
      x: { field: 'target', type: 'nominal', sort: targets, title: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'kind', type: 'nominal', sort: ['Observed', 'Independent'] },
      y: { field: 'value', type: 'quantitative', title: 'P(errors agree)', scale: { zero: false } },
      color: { field: 'kind', type: 'nominal', sort: ['Observed', 'Independent'], title: null, scale: { range: ['#4c72b0', '#dd8452'] } },
    },
  };
}

/**
 * Figure 6: a grid (rows = sources, columns = layers) of relative AUC gain vs the CCA of
 * pretrained and fine-tuned model, points coloured by target, with the OLS line and its
 * bootstrap band. Each source row has its own y range, that of its points with a margin:
 * the bands (which fan out far beyond the points where few points pin the line) are clipped
 * to it, so the points are never squeezed flat by a band's extremes. x is per panel.
 */
export function figure6Spec(points: readonly GainRecord[], bands: readonly BandRecord[], sources: readonly string[]): VegaLiteSpec {
  const values: Array<Record<string, unknown>> = [];
  const range = new Map<string, [number, number]>();
  for (const p of points) {
    const r = range.get(p.source) ?? [Infinity, -Infinity];
    range.set(p.source, [Math.min(r[0], p.gain), Math.max(r[1], p.gain)]);
    for (const layer of LAYERS) values.push({ kind: 'point', source: p.source, layer, x: p.values[layer], gain: p.gain, target: p.target, fold: p.fold });
  }
  const clip = (source: string, v: number): number => {
    const r = range.get(source);
    if (!r || !Number.isFinite(r[0])) return v;
    const pad = Math.max(0.15 * (r[1] - r[0]), 0.02);
    return Math.min(r[1] + pad, Math.max(r[0] - pad, v));
  };
  for (const b of bands) values.push({ kind: 'band', source: b.source, layer: b.layer, x: b.x, fit: clip(b.source, b.fit), lo: clip(b.source, b.lo), hi: clip(b.source, b.hi) });
  const isBand = { filter: "datum.kind === 'band'" };
  const x = { field: 'x', type: 'quantitative', title: 'CCA (pretrained vs fine-tuned)', scale: { zero: false } };
  const y = { type: 'quantitative', title: 'relative AUC gain', scale: { zero: false } };
  return {
    $schema: SCHEMA,
    title: 'Relative AUC gain over random init vs CCA similarity',
    data: { values },
    facet: {
      row: { field: 'source', type: 'nominal', sort: [...sources], title: null },
      column: { field: 'layer', type: 'ordinal', sort: [...LAYERS], title: null },
    },
    spec: {
      width: 150,
      height: 140,
      layer: [
        { transform: [isBand], mark: { type: 'area', opacity: 0.25, color: '#4c72b0', clip: true }, encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' } } },
        { transform: [isBand], mark: { type: 'line', color: '#4c72b0', clip: true }, encoding: { x, y: { ...y, field: 'fit' } } },
        {
          transform: [{ filter: "datum.kind === 'point'" }],
          mark: { type: 'point', filled: true, size: 30 },
          encoding: {
            x,
            y: { ...y, field: 'gain' },
            color: { field: 'target', type: 'nominal', title: 'target' },
          },
        },
      ],
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  };
}

/**
 * Figure 4's title from what it shows: `First 36 conv1 filters` when every grid has 36
 * (ResNet50), `All 8 conv1 filters` when the kernel has fewer than the paper's 36.
 */
export function figure4Title(grids: ReadonlyArray<{ shown: number; total: number }>): string {
  const shown = [...new Set(grids.map((g) => g.shown))];
  const total = [...new Set(grids.map((g) => g.total))];
  const what = shown.length === 1 ? (total.length === 1 && shown[0] === total[0] ? `All ${shown[0]}` : `First ${shown[0]}`) : `First ${shown.join(' / ')}`;
  return `${what} conv1 filters (input channel 0, min-max over all filters)`;
}

/**
 * Figure 4 wrapper: the conv1 filter grids (PNG data URLs made by `filterGridPng`) as vega
 * image marks with the source name above each, so the figure exists as SVG like the others.
 * `shown` / `total`: filters drawn and filters in the kernel, for the title.
 */
export function figure4Spec(grids: ReadonlyArray<{ source: string; dataUrl: string; width: number; height: number; shown: number; total: number }>): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    title: figure4Title(grids),
    hconcat: grids.map((g) => ({
      title: g.source,
      width: g.width,
      height: g.height,
      data: { values: [{ url: g.dataUrl, x: 0, y: 0 }] },
      mark: { type: 'image', width: g.width, height: g.height, align: 'left', baseline: 'top', aspect: false, smooth: false },
      encoding: {
        x: { field: 'x', type: 'quantitative', scale: { domain: [0, 1] }, axis: null },
        y: { field: 'y', type: 'quantitative', scale: { domain: [0, 1], reverse: true }, axis: null },
        url: { field: 'url', type: 'nominal' },
      },
    })),
    config: { view: { stroke: null } },
  };
}

/** Compile a vega-lite spec and render it to an SVG string without a browser or canvas. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const compiled = vl.compile(spec as unknown as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return svgSuperscripts(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/**
 * `ImageNet^FT` in SVG text -> `ImageNet<tspan baseline-shift="super">FT</tspan>`: the caret
 * is how labels mark a superscript (document.ts does the same for Markdown and HTML).
 */
export function svgSuperscripts(svg: string): string {
  // Only text content (between '>' and '<'): attributes such as aria-label keep the caret.
  return svg.replace(/>([^<]*)</g, (_m, text: string) => `>${text.replace(/\^([A-Za-z0-9]+)/g, '<tspan baseline-shift="super" font-size="75%">$1</tspan>')}<`);
}

/** Rasterise an SVG to PNG with sharp (density 144 dpi = 2x, for legible text). */
export async function svgToPng(svg: string, density = 144): Promise<Buffer> {
  const sharp = (await import('sharp')).default;
  return sharp(Buffer.from(svg), { density }).png().toBuffer();
}
