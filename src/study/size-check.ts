/**
 * Is a data set big enough for what the study asks of it? Checked before anything runs
 * (`dag data check DATASET`, `dag status`, `dag run`), from the image counts per class and
 * the params of the preprocess, extract and cca instances that will use it:
 *
 * - every class needs at least `folds` images, or some held-out folds lack it (a fold's AUC
 *   needs every class);
 * - layer CCA needs more data points than channels: per layer, a draw takes
 *   min(held-out images, ceil(maxPoints / (h w)), round(targetPoints / (h w))) images of
 *   h x w positions each (src/stats/layer-cca.ts), so a small held-out fold at a small input
 *   size starves the last block (1 x 1 positions at 32 px).
 */
import { roundHalfEven } from '../stats/layer-cca.ts';
import { LAYERS, type Layer } from './names.ts';

/** What a cca instance downstream of the data set asks for. */
export interface CcaAsk {
  id: string;
  targetPoints: number;
  channels: number;
  /** The smallest `maxPoints` of the extract instances feeding it. */
  maxPoints: number;
}

/** What the pipeline asks of one data set. */
export interface SizeAsk {
  /** The data set's name (for messages). */
  dataset: string;
  folds: number;
  /** Preprocess output size [height, width]. */
  size: [number, number];
  cca: readonly CcaAsk[];
}

/** Spatial size of each compared layer of the ResNet50 family at an input size (Keras padding: every stride-2 step is ceil(x / 2)). */
export function layerGrid(size: readonly [number, number]): Record<Layer, [number, number]> {
  const half = (x: number): number => Math.ceil(x / 2);
  const steps: Record<Layer, number> = { conv1: 1, block1: 2, block2: 3, block3: 4, block4: 5 };
  const out = {} as Record<Layer, [number, number]>;
  for (const layer of LAYERS) {
    let [h, w] = size;
    for (let i = 0; i < steps[layer]; i++) [h, w] = [half(h), half(w)];
    out[layer] = [h, w];
  }
  return out;
}

/** One finding: `fatal` when a stage will fail on it (CCA), else a warning (folds without a class still run). */
export interface SizeProblem {
  message: string;
  fatal: boolean;
}

/** Findings, each one sentence naming the numbers; empty when the data set is big enough. */
export function sizeProblems(perClass: Readonly<Record<string, number>>, ask: SizeAsk): SizeProblem[] {
  const problems: SizeProblem[] = [];
  const K = ask.folds;
  const total = Object.values(perClass).reduce((a, b) => a + b, 0);
  const small = Object.entries(perClass).filter(([, n]) => n < K);
  for (const [c, n] of small) {
    problems.push({ fatal: false, message: `${ask.dataset}: class '${c}' has ${n} image${n === 1 ? '' : 's'} for ${K} folds; some held-out folds will have none of it (a fold's AUC needs every class): at least ${K} per class` });
  }
  const heldOut = Math.floor(total / K);
  const grid = layerGrid(ask.size);
  const seen = new Set<string>();
  for (const c of ask.cca) {
    // The layer that needs the most held-out images (the last block at small sizes).
    let worst: { layer: Layer; h: number; w: number; points: number; cap: number; need: number } | undefined;
    for (const layer of LAYERS) {
      const [h, w] = grid[layer];
      const hw = h * w;
      const cap = Math.min(Math.ceil(c.maxPoints / hw), roundHalfEven(c.targetPoints / hw));
      const points = Math.min(heldOut, cap) * hw;
      if (points > c.channels) continue;
      const need = cap * hw <= c.channels ? Infinity : Math.floor(c.channels / hw) + 1;
      if (!worst || need > worst.need) worst = { layer, h, w, points, cap, need };
    }
    if (!worst) continue;
    const sig = `${worst.layer}\0${c.targetPoints}\0${c.channels}\0${c.maxPoints}`;
    if (seen.has(sig)) continue;
    seen.add(sig);
    const { layer, h, w, points, cap, need } = worst;
    const where = `${c.id}: CCA at ${layer} (${h} x ${w} positions at ${ask.size[0]} x ${ask.size[1]} px)`;
    if (need === Infinity) {
      problems.push({ fatal: true, message: `${where} draws at most ${cap * h * w} data points (targetPoints ${c.targetPoints}, maxPoints ${c.maxPoints}) for ${c.channels} channels; CCA needs more points than channels: raise targetPoints/maxPoints or lower channels` });
    } else {
      problems.push({
        fatal: true,
        message: `${where} gets ${points} data points from a held-out fold of ${heldOut} images (${total} images / ${K} folds) for ${c.channels} channels; CCA needs more points than channels: at least ${need} images per fold, about ${need * K} in all${points > 1 ? ` (or set cca's channels to ${points - 1} or fewer)` : ''}`,
      });
    }
  }
  return problems;
}

/** The slice of a plan instance the size check reads (structural, so the study needs no engine types). */
export interface PlannedInstance {
  id: string;
  kind: string;
  params: Readonly<Record<string, unknown>>;
  deps: readonly string[];
}

/** Every instance downstream of `id` (transitively), in plan order. */
function downstreamOf(instances: ReadonlyMap<string, PlannedInstance>, id: string): PlannedInstance[] {
  const reached = new Set([id]);
  const out: PlannedInstance[] = [];
  // Plan order is a topological order, so one pass reaches everything.
  for (const inst of instances.values()) {
    if (inst.deps.some((d) => reached.has(d))) {
      reached.add(inst.id);
      out.push(inst);
    }
  }
  return out;
}

/**
 * What the pipeline asks of the data set a preprocess instance reads: its folds and size,
 * and the cca instances downstream with the smallest maxPoints of their extract inputs
 * that come from this data set.
 */
export function askOf(instances: ReadonlyMap<string, PlannedInstance>, preprocessId: string, dataset: string, size: [number, number]): SizeAsk {
  const pre = instances.get(preprocessId);
  const folds = typeof pre?.params.folds === 'number' ? pre.params.folds : 5;
  const down = downstreamOf(instances, preprocessId);
  const mine = new Set(down.map((d) => d.id));
  const cca: CcaAsk[] = [];
  for (const c of down.filter((d) => d.kind === 'cca')) {
    const extracts = c.deps.map((d) => instances.get(d)).filter((d): d is PlannedInstance => d !== undefined && d.kind === 'extract' && mine.has(d.id));
    const maxPoints = Math.min(...extracts.map((e) => (typeof e.params.maxPoints === 'number' ? e.params.maxPoints : 20000)));
    cca.push({
      id: c.id,
      targetPoints: typeof c.params.targetPoints === 'number' ? c.params.targetPoints : 10000,
      channels: typeof c.params.channels === 'number' ? c.params.channels : 64,
      maxPoints: Number.isFinite(maxPoints) ? maxPoints : 20000,
    });
  }
  return { dataset, folds, size, cca };
}
