/**
 * The graph API in one import: graphology views of a plan, order and cycles, target
 * selection, and the Mermaid / DOT renderers behind `dag graph`.
 */
export { buildInstanceGraph, buildStageGraph, stageGraphFromDecls, type InstanceGraph, type StageGraph } from './build.ts';
export { findStageCycles, type StageCycle, type StageCycleEdge } from './cycles.ts';
export { CycleError, findCycles, topologicalOrder } from './order.ts';
export { downstreamOf, resolveTarget, selectOnly, selectWithUpstream, UnknownTargetError } from './select.ts';
export { toDot, toMermaid, type GraphLevel } from './render.ts';
