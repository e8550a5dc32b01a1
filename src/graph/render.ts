/**
 * `dag graph` renderers: the stage graph or the instance graph as Mermaid (for Markdown,
 * GitHub renders it) or Graphviz DOT (for `dot -Tsvg`). Pure string builders over a Plan;
 * output is deterministic (plan order) so it can be committed and diffed.
 */
import type { NeedDecl, Plan } from '../core/plan.ts';

/** Which graph to draw: one node per stage, or one node per instance. */
export type GraphLevel = 'stage' | 'instance';

function needLabel(n: NeedDecl): string {
  const parts: string[] = [];
  const where = Object.entries(n.where).map(([a, v]) => `${a}=${v.map(String).join('|')}`);
  if (where.length > 0) parts.push(`where ${where.join(',')}`);
  const as = Object.entries(n.as).filter(([a, b]) => a !== b).map(([a, b]) => `${a} as ${b}`);
  if (as.length > 0) parts.push(as.join(','));
  return parts.join('; ');
}

function stageCounts(plan: Plan): Map<string, number> {
  const counts = new Map<string, number>();
  for (const i of plan.instances.values()) counts.set(i.stage, (counts.get(i.stage) ?? 0) + 1);
  return counts;
}

/** Mermaid label text: quotes and markup characters become entity codes Mermaid understands. */
function mermaidText(s: string): string {
  return s.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

/**
 * A Mermaid `flowchart LR`. Stage level: one node per stage labelled with its kind and
 * instance count, an edge per need (labelled with where/as filters). Instance level: one
 * node per instance, grouped in a subgraph per stage.
 */
export function toMermaid(plan: Plan, level: GraphLevel): string {
  const lines = ['flowchart LR'];
  switch (level) {
    case 'stage': {
      const ids = new Map<string, string>();
      const counts = stageCounts(plan);
      for (const name of plan.stageOrder) {
        const decl = plan.stages.get(name)!;
        const id = `s${ids.size}`;
        ids.set(name, id);
        const n = counts.get(name) ?? 0;
        lines.push(`  ${id}["${mermaidText(name)}<br/>${mermaidText(decl.kind)} × ${n}"]`);
      }
      for (const name of plan.stageOrder) {
        for (const need of plan.stages.get(name)!.needs) {
          const label = needLabel(need);
          lines.push(`  ${ids.get(need.stage)} -->${label !== '' ? `|"${mermaidText(label)}"|` : ''} ${ids.get(name)}`);
        }
      }
      break;
    }
    case 'instance': {
      const ids = new Map<string, string>();
      for (const [gi, name] of plan.stageOrder.entries()) {
        lines.push(`  subgraph g${gi}["${mermaidText(name)}"]`);
        for (const inst of plan.instances.values()) {
          if (inst.stage !== name) continue;
          const id = `i${ids.size}`;
          ids.set(inst.id, id);
          lines.push(`    ${id}["${mermaidText(inst.id)}"]`);
        }
        lines.push('  end');
      }
      for (const inst of plan.instances.values()) for (const d of inst.deps) lines.push(`  ${ids.get(d)} --> ${ids.get(inst.id)}`);
      break;
    }
    default: {
      const never: never = level;
      throw new Error(`bug: unknown graph level ${String(never)}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** A DOT string literal. */
function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/**
 * A Graphviz `digraph`: the same content as toMermaid, with instance nodes grouped in a
 * `cluster_` subgraph per stage.
 */
export function toDot(plan: Plan, level: GraphLevel): string {
  const lines = ['digraph dag {', '  rankdir=LR;', '  node [shape=box, fontname="Helvetica"];'];
  switch (level) {
    case 'stage': {
      const counts = stageCounts(plan);
      for (const name of plan.stageOrder) {
        const decl = plan.stages.get(name)!;
        lines.push(`  ${dotString(name)} [label=${dotString(`${name}\n${decl.kind} × ${counts.get(name) ?? 0}`)}];`);
      }
      for (const name of plan.stageOrder) {
        for (const need of plan.stages.get(name)!.needs) {
          const label = needLabel(need);
          lines.push(`  ${dotString(need.stage)} -> ${dotString(name)}${label !== '' ? ` [label=${dotString(label)}]` : ''};`);
        }
      }
      break;
    }
    case 'instance': {
      plan.stageOrder.forEach((name, i) => {
        lines.push(`  subgraph cluster_${i} {`, `    label=${dotString(name)};`);
        for (const inst of plan.instances.values()) if (inst.stage === name) lines.push(`    ${dotString(inst.id)};`);
        lines.push('  }');
      });
      for (const inst of plan.instances.values()) for (const d of inst.deps) lines.push(`  ${dotString(d)} -> ${dotString(inst.id)};`);
      break;
    }
    default: {
      const never: never = level;
      throw new Error(`bug: unknown graph level ${String(never)}`);
    }
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}
