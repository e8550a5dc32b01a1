/**
 * Source positions for YAML nodes: maps node ranges (byte offsets kept by the `yaml` package)
 * to 1-based line:col through a LineCounter, and small typed accessors over the node tree so
 * every later phase can point at the exact key or value it complains about.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import type { SourceLocation } from '../core/plan.ts';

/** The pipeline file: its path as given, its text and line table. */
export class SourceFile {
  constructor(
    /** Path as given to loadPipeline (shown in messages). */
    readonly file: string,
    readonly text: string,
    private readonly lines: LineCounter,
    readonly doc: Document.Parsed,
  ) {}

  /** Location of a byte offset; `length` is clamped to the line by the formatter. */
  at(offset: number, length?: number): SourceLocation {
    const { line, col } = this.lines.linePos(offset);
    return length === undefined ? { file: this.file, line, col } : { file: this.file, line, col, length };
  }

  /** Location of a node (its first character), or `fallback` when the node has no range. */
  of(node: unknown, fallback: SourceLocation): SourceLocation {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range === undefined || range === null) return fallback;
    const len = Math.max(1, range[1] - range[0]);
    return this.at(range[0], len);
  }

  /** Follow an alias to the node it names (anchors are allowed anywhere). */
  deref(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node;
  }

  /**
   * The entries of a map with YAML merge keys applied (`<<: *defaults`, `<<: [*a, *b]`):
   * keys written in the map win over merged ones, earlier merge sources over later ones.
   * Merged entries keep the location where they are written (under the anchor).
   */
  entries(map: YAMLMap): Entry[] {
    const own: Entry[] = [];
    const merged: Entry[] = [];
    for (const e of entriesOf(map)) {
      const k = e.keyNode;
      if (isScalar(k) && typeof k.value === 'symbol') {
        const v = this.deref(e.value);
        const sources = isSeq(v) ? v.items.map((i) => this.deref(i)) : [v];
        for (const m of sources) if (isMap(m)) merged.push(...this.entries(m));
        continue;
      }
      own.push(e);
    }
    if (merged.length === 0) return own;
    const seen = new Set(own.map((e) => e.key));
    for (const e of merged) {
      if (seen.has(e.key)) continue;
      seen.add(e.key);
      own.push(e);
    }
    return own;
  }

  /**
   * The plain JS value of a node (null for a missing value, or for one holding an unresolved
   * alias: the loader reports those separately).
   */
  js(node: unknown): unknown {
    const n = this.deref(node);
    if (n === null || n === undefined) return null;
    if (isScalar(n)) return n.value;
    try {
      return (n as Node).toJS(this.doc, { maxAliasCount: -1 });
    } catch {
      return null;
    }
  }
}

/** One `key: value` entry of a map, with the key as text. */
export interface Entry {
  key: string;
  keyNode: Node | null;
  value: unknown;
  pair: Pair;
}

/** The entries of a YAML map (keys as strings; non-scalar keys are stringified). */
export function entriesOf(map: YAMLMap): Entry[] {
  const out: Entry[] = [];
  for (const pair of map.items) {
    if (!isPair(pair)) continue;
    const k = pair.key;
    const key = isScalar(k) ? String(k.value) : String(k);
    out.push({ key, keyNode: (k as Node | null) ?? null, value: pair.value, pair });
  }
  return out;
}

/** Narrowing helpers over resolved nodes. */
export function asMap(n: unknown): YAMLMap | undefined {
  return isMap(n) ? n : undefined;
}
/** The node as a sequence, or undefined. */
export function asSeq(n: unknown): YAMLSeq | undefined {
  return isSeq(n) ? n : undefined;
}

/** Describe a node's type for "expected X, found Y" messages. */
export function describeNode(n: unknown): string {
  if (n === null || n === undefined) return 'nothing';
  if (isMap(n)) return 'a map';
  if (isSeq(n)) return 'a list';
  if (isScalar(n)) return describeValue(n.value);
  return 'an unknown node';
}

/** Describe a JS value's type for messages (`a string "abc"`, `a number 3`, ...). */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return `a string ${JSON.stringify(v.length > 40 ? v.slice(0, 37) + '...' : v)}`;
  if (typeof v === 'number') return `a number ${v}`;
  if (typeof v === 'boolean') return `a boolean ${v}`;
  if (Array.isArray(v)) return 'a list';
  return 'a map';
}
