/**
 * Cycles between stages, with the location of every `needs` entry that forms them, so the
 * loader can report a CYCLE error that names each edge at its place in pipeline.yaml.
 */
import type { SourceLocation } from '../core/plan.ts';
import type { StageGraph } from './build.ts';
import { findCycles } from './order.ts';

/** One edge of a stage cycle: `stage` needs `needs`, written at `loc`. */
export interface StageCycleEdge {
  stage: string;
  needs: string;
  loc: SourceLocation;
}

/** One cycle of stages, as the chain of `needs` edges that closes it. */
export interface StageCycle {
  /** Stages in needs order: each needs the next, the last needs the first. */
  stages: string[];
  edges: StageCycleEdge[];
}

/**
 * Every independent stage cycle (one per strongly connected group of stages), in
 * declaration order. Edges follow `needs`: downstream stage -> the upstream it names.
 */
export function findStageCycles(graph: StageGraph): StageCycle[] {
  return findCycles(graph).map((flow) => {
    // Graph edges run upstream -> downstream; a needs-chain runs the other way.
    const stages = [...flow].reverse();
    const edges: StageCycleEdge[] = stages.map((stage, i) => {
      const needs = stages[(i + 1) % stages.length]!;
      const edge = graph.edge(needs, stage);
      const loc = edge === undefined ? undefined : graph.getEdgeAttributes(edge).locs[0];
      if (loc === undefined) throw new Error(`bug: cycle edge ${stage} -> ${needs} has no location`);
      return { stage, needs, loc };
    });
    // Start the report at the stage declared first, so messages are stable.
    const first = stages.reduce((best, s, i) => (graph.getNodeAttribute(s, 'index') < graph.getNodeAttribute(stages[best]!, 'index') ? i : best), 0);
    return { stages: [...stages.slice(first), ...stages.slice(0, first)], edges: [...edges.slice(first), ...edges.slice(0, first)] };
  });
}
