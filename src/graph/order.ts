/**
 * Topological order and cycle detection over any graphology directed graph. The order is
 * deterministic (ties broken by node insertion order) so plans, logs and ids of runs are
 * reproducible from one invocation to the next.
 */
import type { AbstractGraph } from 'graphology-types';

/** A cycle found where an order was required; `cycle` lists nodes, each edge goes to the next. */
export class CycleError extends Error {
  override readonly name = 'CycleError';
  readonly code = 'CYCLE';
  constructor(readonly cycle: string[]) {
    super(`the graph has a cycle: ${[...cycle, cycle[0]].join(' -> ')}`);
  }
}

/** A min-heap of numbers (insertion indices), enough for Kahn's algorithm with stable ties. */
class MinHeap {
  private readonly a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  push(x: number): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= x) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = x;
  }
  pop(): number | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let mv = last;
        if (l < a.length && a[l]! < mv) {
          m = l;
          mv = a[l]!;
        }
        if (r < a.length && a[r]! < mv) m = r;
        if (m === i) break;
        a[i] = a[m]!;
        i = m;
      }
      a[i] = last;
    }
    return top;
  }
}

/**
 * Nodes in topological order (every edge's source before its target); among nodes that are
 * ready at the same time, the one added to the graph first comes first. Throws CycleError
 * naming one cycle when there is none.
 */
export function topologicalOrder(graph: AbstractGraph): string[] {
  const nodes = graph.nodes();
  const index = new Map<string, number>();
  nodes.forEach((n, i) => index.set(n, i));
  const indeg = new Array<number>(nodes.length).fill(0);
  graph.forEachEdge((_e, _a, source, target) => {
    if (source === target) throw new CycleError([source]);
    indeg[index.get(target)!]!++;
  });
  const ready = new MinHeap();
  indeg.forEach((d, i) => {
    if (d === 0) ready.push(i);
  });
  const out: string[] = [];
  while (ready.size > 0) {
    const i = ready.pop()!;
    const n = nodes[i]!;
    out.push(n);
    graph.forEachOutNeighbor(n, (m) => {
      const j = index.get(m)!;
      if (--indeg[j]! === 0) ready.push(j);
    });
  }
  if (out.length < nodes.length) {
    const cycles = findCycles(graph);
    throw new CycleError(cycles[0] ?? nodes.filter((_n, i) => indeg[i]! > 0));
  }
  return out;
}

/**
 * One cycle per strongly connected component that has one (Tarjan's algorithm, iterative so
 * deep graphs cannot overflow the stack). Each cycle lists nodes so that every node has an
 * edge to the next and the last to the first; it starts at the component's earliest node.
 */
export function findCycles(graph: AbstractGraph): string[][] {
  const nodes = graph.nodes();
  const order = new Map<string, number>();
  nodes.forEach((n, i) => order.set(n, i));
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const comps: string[][] = [];
  let counter = 0;
  for (const root of nodes) {
    if (idx.has(root)) continue;
    const work: Array<{ node: string; succ: string[]; i: number }> = [];
    const enter = (n: string) => {
      idx.set(n, counter);
      low.set(n, counter);
      counter++;
      stack.push(n);
      onStack.add(n);
      work.push({ node: n, succ: graph.outNeighbors(n), i: 0 });
    };
    enter(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      if (frame.i < frame.succ.length) {
        const m = frame.succ[frame.i++]!;
        if (!idx.has(m)) enter(m);
        else if (onStack.has(m)) low.set(frame.node, Math.min(low.get(frame.node)!, idx.get(m)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === idx.get(frame.node)) {
        const comp: string[] = [];
        let x: string;
        do {
          x = stack.pop()!;
          onStack.delete(x);
          comp.push(x);
        } while (x !== frame.node);
        comps.push(comp);
      }
    }
  }
  const cycles: string[][] = [];
  for (const comp of comps) {
    if (comp.length === 1) {
      const n = comp[0]!;
      if (graph.hasDirectedEdge(n, n)) cycles.push([n]);
      continue;
    }
    const members = new Set(comp);
    const start = comp.reduce((a, b) => (order.get(a)! <= order.get(b)! ? a : b));
    cycles.push(shortestCycleThrough(graph, start, members, order));
  }
  cycles.sort((a, b) => order.get(a[0]!)! - order.get(b[0]!)!);
  return cycles;
}

/** BFS inside a component from `start` back to `start`, visiting neighbours in insertion order. */
function shortestCycleThrough(graph: AbstractGraph, start: string, members: ReadonlySet<string>, order: ReadonlyMap<string, number>): string[] {
  const prev = new Map<string, string>();
  const queue: string[] = [start];
  const byOrder = (a: string, b: string) => order.get(a)! - order.get(b)!;
  for (let qi = 0; qi < queue.length; qi++) {
    const n = queue[qi]!;
    for (const m of graph.outNeighbors(n).filter((x) => members.has(x)).sort(byOrder)) {
      if (m === start) {
        const path = [n];
        let cur = n;
        while (cur !== start) {
          cur = prev.get(cur)!;
          path.push(cur);
        }
        return path.reverse();
      }
      if (!prev.has(m)) {
        prev.set(m, n);
        queue.push(m);
      }
    }
  }
  throw new Error(`bug: component of ${start} has no cycle through it`);
}
