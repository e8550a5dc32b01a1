/**
 * `dag graph --svg FILE`: the stage (or instance) graph as a standalone SVG, laid out by
 * dagre (layered, left to right) and coloured by cache state: cached green, stale amber,
 * failed red, never run grey. Stage boxes show their instance counts per state.
 */
import dagre from '@dagrejs/dagre';
import type { Plan } from '../core/plan.ts';
import type { GraphLevel } from './render.ts';

/** The states the drawing distinguishes (the CLI maps its status kinds onto these). */
export type DrawState = 'cached' | 'stale' | 'failed' | 'never';

const FILL: Record<DrawState, string> = { cached: '#d5f0d8', stale: '#fde7b0', failed: '#f8c9c4', never: '#eceff1' };
const STROKE: Record<DrawState, string> = { cached: '#2e7d32', stale: '#b26a00', failed: '#c62828', never: '#78909c' };
const LABEL: Record<DrawState, string> = { cached: 'cached', stale: 'stale', failed: 'failed', never: 'never run' };
const ORDER: DrawState[] = ['failed', 'stale', 'never', 'cached'];
const FONT = 12;
const CHAR_W = 7.2; // average glyph width of the sans-serif font at 12 px, for box sizes

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Box {
  id: string;
  lines: string[];
  state: DrawState;
}

/** The drawing's state of a group of instances: the most urgent one present. */
function worst(states: readonly DrawState[]): DrawState {
  return ORDER.find((s) => states.includes(s)) ?? 'never';
}

/** Render the graph; `states` gives each instance's state (missing ones count as never run). */
export function toSvg(plan: Plan, level: GraphLevel, states: ReadonlyMap<string, DrawState>): string {
  const boxes: Box[] = [];
  const edges: Array<[string, string]> = [];
  if (level === 'stage') {
    for (const name of plan.stageOrder) {
      const mine = [...plan.instances.values()].filter((i) => i.stage === name).map((i) => states.get(i.id) ?? 'never');
      const counts = ORDER.filter((s) => mine.includes(s)).map((s) => `${mine.filter((x) => x === s).length} ${LABEL[s]}`);
      boxes.push({ id: name, lines: [name, `${plan.stages.get(name)!.kind} × ${mine.length}`, counts.join(' · ')], state: worst(mine) });
      for (const need of plan.stages.get(name)!.needs) edges.push([need.stage, name]);
    }
  } else {
    for (const inst of plan.instances.values()) {
      boxes.push({ id: inst.id, lines: [inst.id], state: states.get(inst.id) ?? 'never' });
      for (const d of inst.deps) edges.push([d, inst.id]);
    }
  }
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 14, ranksep: 48, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const b of boxes) {
    const width = Math.ceil(Math.max(...b.lines.map((l) => l.length)) * CHAR_W + 20);
    g.setNode(b.id, { width, height: b.lines.length * (FONT + 4) + 12 });
  }
  for (const [a, b] of edges) g.setEdge(a, b);
  dagre.layout(g);
  // Bounds of nodes AND edge routes (dagre may route an edge outside its graph box).
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const grow = (x: number, y: number): void => {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  };
  for (const b of boxes) {
    const n = g.node(b.id);
    grow(n.x - n.width / 2, n.y - n.height / 2);
    grow(n.x + n.width / 2, n.y + n.height / 2);
  }
  for (const e of g.edges()) for (const p of g.edge(e).points ?? []) grow(p.x, p.y);
  if (!Number.isFinite(minX)) [minX, minY, maxX, maxY] = [0, 0, 0, 0];
  const pad = 16;
  const dx = pad - minX;
  const dy = pad - minY;
  for (const b of boxes) {
    const n = g.node(b.id);
    n.x += dx;
    n.y += dy;
  }
  for (const e of g.edges()) for (const p of g.edge(e).points ?? []) {
    p.x += dx;
    p.y += dy;
  }
  const legendH = 28;
  const width = Math.max(Math.ceil(maxX - minX + 2 * pad), 360);
  const height = Math.ceil(maxY - minY + 2 * pad) + legendH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="${FONT}">`,
    `<title>${esc(plan.file)}: ${level} graph</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#607d8b"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  for (const e of g.edges()) {
    const pts = g.edge(e).points ?? [];
    if (pts.length < 2) continue;
    const d = pts.map((p: { x: number; y: number }, i: number) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="#607d8b" stroke-width="1.2" marker-end="url(#arrow)"/>`);
  }
  for (const b of boxes) {
    const n = g.node(b.id);
    const x = n.x - n.width / 2;
    const y = n.y - n.height / 2;
    out.push(`<g><title>${esc(b.id)}: ${LABEL[b.state]}</title>`);
    out.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${n.width}" height="${n.height}" rx="5" fill="${FILL[b.state]}" stroke="${STROKE[b.state]}" stroke-width="1.5"/>`);
    b.lines.forEach((line, i) => {
      const ty = y + 6 + (i + 1) * (FONT + 4) - 3;
      out.push(`<text x="${n.x.toFixed(1)}" y="${ty.toFixed(1)}" text-anchor="middle"${i === 0 ? ' font-weight="bold"' : ' fill="#37474f"'}>${esc(line)}</text>`);
    });
    out.push('</g>');
  }
  let lx = 16;
  const ly = height - legendH + 8;
  for (const s of ['cached', 'stale', 'never', 'failed'] as const) {
    out.push(`<rect x="${lx}" y="${ly}" width="14" height="14" rx="3" fill="${FILL[s]}" stroke="${STROKE[s]}"/>`);
    out.push(`<text x="${lx + 20}" y="${ly + 11}">${LABEL[s]}</text>`);
    lx += 20 + LABEL[s].length * CHAR_W + 18;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
