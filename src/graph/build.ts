/**
 * Graphology views of a plan: the stage graph (one node per stage, an edge per `needs`) and
 * the instance graph (one node per instance, an edge per dependency). Edges point from
 * upstream to downstream, the direction data flows and the order things run.
 */
import { DirectedGraph } from 'graphology';
import type { AxisValue } from '../core/contract.ts';
import type { Plan, SourceLocation } from '../core/plan.ts';

/** Attributes of a stage node. */
export interface StageNodeAttrs {
  kind: string;
  /** Declaration order in the pipeline file. */
  index: number;
  instances: number;
}

/** Attributes of a stage edge: where each `needs` entry that creates it is written. */
export interface StageEdgeAttrs {
  locs: SourceLocation[];
}

/** Attributes of an instance node. */
export interface InstanceNodeAttrs {
  stage: string;
  kind: string;
  axes: Record<string, AxisValue>;
  /** Position in the plan's topological order. */
  index: number;
}

/** The stage-level graph type. */
export type StageGraph = DirectedGraph<StageNodeAttrs, StageEdgeAttrs>;
/** The instance-level graph type. */
export type InstanceGraph = DirectedGraph<InstanceNodeAttrs>;

/** The minimum a stage needs to be put in a stage graph (used by the loader before a Plan exists). */
export interface StageLike {
  name: string;
  kind?: string;
  needs: ReadonlyArray<{ stage: string; loc: SourceLocation }>;
}

/**
 * A stage graph from stage declarations, in declaration order. Needs naming unknown stages
 * are skipped (the loader reports them separately); self-needs become self-loops.
 */
export function stageGraphFromDecls(stages: Iterable<StageLike>, instanceCounts?: ReadonlyMap<string, number>): StageGraph {
  const g: StageGraph = new DirectedGraph<StageNodeAttrs, StageEdgeAttrs>({ allowSelfLoops: true });
  const list = [...stages];
  list.forEach((s, index) => {
    if (!g.hasNode(s.name)) g.addNode(s.name, { kind: s.kind ?? '?', index, instances: instanceCounts?.get(s.name) ?? 0 });
  });
  for (const s of list) {
    for (const need of s.needs) {
      if (!g.hasNode(need.stage)) continue;
      const existing = g.edge(need.stage, s.name);
      if (existing !== undefined) g.getEdgeAttributes(existing).locs.push(need.loc);
      else g.addDirectedEdge(need.stage, s.name, { locs: [need.loc] });
    }
  }
  return g;
}

/** The stage graph of a plan (edges upstream -> downstream, one per stage pair). */
export function buildStageGraph(plan: Plan): StageGraph {
  const counts = new Map<string, number>();
  for (const inst of plan.instances.values()) counts.set(inst.stage, (counts.get(inst.stage) ?? 0) + 1);
  return stageGraphFromDecls(plan.stages.values(), counts);
}

/** The instance graph of a plan (edges from each dependency to its dependent), in plan order. */
export function buildInstanceGraph(plan: Plan): InstanceGraph {
  const g: InstanceGraph = new DirectedGraph<InstanceNodeAttrs>();
  let index = 0;
  for (const inst of plan.instances.values()) g.addNode(inst.id, { stage: inst.stage, kind: inst.kind, axes: inst.axes, index: index++ });
  for (const inst of plan.instances.values()) {
    for (const dep of inst.deps) if (!g.hasEdge(dep, inst.id)) g.addDirectedEdge(dep, inst.id);
  }
  return g;
}
