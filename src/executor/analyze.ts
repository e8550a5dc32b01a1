/**
 * Cache keys of plan instances and what each one needs: cached, must run (and why),
 * blocked behind upstream work, or refused for a missing external input. Shared by
 * `dag run` (evaluated one instance at a time as upstream results arrive), `--dry-run`,
 * `--only` checks and `dag status` (evaluated statically over the whole plan).
 */
import { dirname, relative, resolve, isAbsolute, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Json } from '../core/contract.ts';
import type { Instance, Plan } from '../core/plan.ts';
import { canonicalJson } from '../core/json.ts';
import type { CacheKey, Digest } from '../cache/digest.ts';
import { cacheKey, describeChange, diffPreimages, KEY_SCHEMA_VERSION, outputsDigest, type KeyPreimage, type OutputManifest } from '../cache/key.ts';
import type { LocalCache, RunRecord } from '../cache/store.ts';
import type { RunReason } from './events.ts';

/** Root of the dag package itself (labels for code files outside the pipeline folder). */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** External folders with more files than this keep no per-file listing in run records. */
const MAX_LISTED_FILES = 5000;

/** What one instance needs, given its upstream outputs. */
export type Evaluation =
  | { state: 'cached'; key: CacheKey; preimage: KeyPreimage; record: RunRecord }
  | { state: 'run'; key: CacheKey; preimage: KeyPreimage; reason: RunReason; previous?: RunRecord }
  | { state: 'missing-input'; paths: string[]; message: string; code: 'PATH_MISSING' | 'INPUT_SYMLINK' };

/** A static evaluation also knows instances that wait on upstream work. */
export type StaticEvaluation =
  | Evaluation
  | { state: 'blocked'; on: string[]; previous?: RunRecord };

/** Builds key preimages for a plan, memoising code identities and external digests. */
export class KeyBuilder {
  private readonly code = new Map<string, KeyPreimage['code']>();
  private readonly runtime = new Map<string, Json>();
  private readonly external = new Map<string, string>();
  private readonly labels = new Map<string, string>();
  private readonly listings = new Map<string, Record<string, Digest>>();
  /** External folders that cannot be hashed (unusable symlinks), with the message naming them. */
  private readonly unusable = new Map<string, string>();
  private readonly manifestDigests = new WeakMap<OutputManifest, Digest>();
  /** Records read through `previousRecord`, for ETA estimates. */
  readonly durations = new Map<string, number[]>();

  constructor(readonly plan: Plan, readonly cache: LocalCache) {}

  /** A stable label for a file: relative to the pipeline folder or the dag package when inside. */
  label(abs: string): string {
    let hit = this.labels.get(abs);
    if (hit === undefined) {
      hit = this.computeLabel(abs);
      this.labels.set(abs, hit);
    }
    return hit;
  }

  private computeLabel(abs: string): string {
    const inside = (root: string): boolean => abs === root || abs.startsWith(root.endsWith(sep) ? root : root + sep);
    if (inside(this.plan.dir)) return relative(this.plan.dir, abs) || '.';
    if (inside(PACKAGE_ROOT)) return `dag:${relative(PACKAGE_ROOT, abs)}`;
    return abs;
  }

  /** Code identity of a kind: explicit version plus the digests of its file and codeDeps. */
  codeIdentity(kindName: string): KeyPreimage['code'] {
    const hit = this.code.get(kindName);
    if (hit) return hit;
    const loaded = this.plan.kinds.get(kindName);
    if (!loaded) throw new Error(`plan has no kind ${kindName}`);
    const files: Record<string, Digest> = {};
    // Kinds often share codeDeps folders (src/ml): externalDigest memoises per path.
    for (const f of [loaded.file, ...loaded.codeDeps]) files[this.label(f)] = this.externalDigest(f) as Digest;
    const code = { version: loaded.kind.version ?? null, files };
    this.code.set(kindName, code);
    return code;
  }

  private runtimeOf(kindName: string): Json {
    if (this.runtime.has(kindName)) return this.runtime.get(kindName)!;
    const k = this.plan.kinds.get(kindName)?.kind;
    const r = k?.runtimeKey ? k.runtimeKey({ device: 'any' }) : null;
    this.runtime.set(kindName, r);
    return r;
  }

  /** Content digest of an external path (memoised for the process; stat cache underneath). */
  externalDigest(abs: string): string {
    const hit = this.external.get(abs);
    if (hit !== undefined) return hit;
    const d = this.cache.stat.digestPath(abs);
    if (d.type === 'unusable') this.unusable.set(abs, d.message);
    const v = d.type === 'missing' ? 'missing' : d.type === 'unusable' ? 'unusable' : d.digest;
    this.external.set(abs, v);
    if (d.type === 'dir' && d.files <= MAX_LISTED_FILES) this.listings.set(abs, d.listing);
    return v;
  }

  /** Per-file digests of an external folder (after `externalDigest`), when small enough to keep. */
  externalListing(abs: string): Record<string, Digest> | undefined {
    return this.listings.get(abs);
  }

  /** Forget memoised external digests (the after-run re-check must look again). */
  forgetExternal(abs: string): void {
    this.external.delete(abs);
    this.listings.delete(abs);
    this.unusable.delete(abs);
  }

  /** Store the folder listings of `inst`'s external inputs as objects (see RunRecord.externalFiles). */
  externalFilesOf(inst: Instance): Record<string, Digest> | undefined {
    const out: Record<string, Digest> = {};
    for (const p of inst.externalPaths) {
      const l = this.listings.get(p);
      if (l) out[this.label(p)] = this.cache.putBytes(canonicalJson(l));
    }
    return Object.keys(out).length ? out : undefined;
  }

  /** `input file changed: data/knee/img1.png` instead of just the folder, when both listings are known. */
  private refineExternal(inst: Instance, previous: RunRecord, line: string): string {
    const m = /^input file changed: (.*)$/.exec(line);
    if (!m) return line;
    const label = m[1]!;
    const abs = inst.externalPaths.find((p) => this.label(p) === label);
    const ref = previous.externalFiles?.[label];
    const text = ref ? this.cache.readText(ref) : undefined;
    let before: Record<string, Digest> | undefined;
    try {
      before = text ? (JSON.parse(text) as Record<string, Digest>) : undefined;
    } catch {
      before = undefined;
    }
    const now = abs ? this.listings.get(abs) : undefined;
    if (!before || !now) return line;
    const changed: string[] = [];
    for (const [f, d] of Object.entries(now)) if (before[f] === undefined) changed.push(`${label}/${f} (added)`);
    else if (before[f] !== d) changed.push(`${label}/${f}`);
    for (const f of Object.keys(before)) if (now[f] === undefined) changed.push(`${label}/${f} (removed)`);
    if (changed.length === 0) return line;
    const shown = changed.length <= 3 ? changed.join(', ') : `${changed.slice(0, 2).join(', ')} and ${changed.length - 2} more`;
    return `input file changed: ${shown}`;
  }

  /** Params with external paths written relative to the pipeline folder (relocatable keys). */
  private keyParams(inst: Instance): Record<string, Json> {
    if (inst.externalPaths.length === 0) return inst.params;
    const paths = new Set(inst.externalPaths);
    const map = (v: Json): Json => {
      if (typeof v === 'string') return paths.has(v) && isAbsolute(v) ? this.label(v) : v;
      if (Array.isArray(v)) return v.map(map);
      if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, map(x)]));
      return v;
    };
    return map(inst.params) as Record<string, Json>;
  }

  /** The preimage of an instance given its upstream outputs, or the missing external paths. */
  preimage(inst: Instance, upstream: ReadonlyMap<string, OutputManifest>): { preimage: KeyPreimage } | { missing: string[] } {
    const external: Record<string, string> = {};
    const missing: string[] = [];
    for (const p of inst.externalPaths) {
      const d = this.externalDigest(p);
      if (d === 'missing' || d === 'unusable') missing.push(p);
      external[this.label(p)] = d;
    }
    if (missing.length) return { missing };
    const inputs: Record<string, Digest> = {};
    for (const dep of inst.deps) {
      const out = upstream.get(dep);
      if (!out) throw new Error(`preimage(${inst.id}): outputs of ${dep} not given (bug)`);
      let d = this.manifestDigests.get(out);
      if (d === undefined) {
        d = outputsDigest(out);
        this.manifestDigests.set(out, d);
      }
      inputs[dep] = d;
    }
    return {
      preimage: {
        schema: KEY_SCHEMA_VERSION,
        kind: inst.kind,
        code: this.codeIdentity(inst.kind),
        params: this.keyParams(inst),
        inputs,
        external,
        seed: inst.seed,
        runtime: this.runtimeOf(inst.kind),
      },
    };
  }

  /** The record the index points at for an instance (its latest run), if still present. */
  previousRecord(inst: Instance): RunRecord | undefined {
    const entry = this.cache.readIndex(inst.id);
    if (!entry) return undefined;
    const rec = this.cache.readRecord(entry.key);
    if (rec) {
      const list = this.durations.get(inst.stage) ?? [];
      list.push(rec.durationMs);
      this.durations.set(inst.stage, list);
    }
    return rec;
  }

  /** Expected duration of an instance: its own last run, else the mean of its stage's runs. */
  eta(inst: Instance, previous?: RunRecord): number | null {
    if (previous) return previous.durationMs;
    const list = this.durations.get(inst.stage);
    if (!list || list.length === 0) return null;
    return list.reduce((a, b) => a + b, 0) / list.length;
  }

  /** Decide whether an instance is cached or must run, given its upstream outputs. */
  evaluate(inst: Instance, upstream: ReadonlyMap<string, OutputManifest>, forced: boolean): Evaluation {
    const pre = this.preimage(inst, upstream);
    if ('missing' in pre) {
      const gone = pre.missing.filter((p) => !this.unusable.has(p));
      const lines = [
        ...(gone.length ? [`input path does not exist: ${gone.map((p) => this.label(p)).join(', ')}`] : []),
        ...pre.missing.filter((p) => this.unusable.has(p)).map((p) => this.unusable.get(p)!),
      ];
      return { state: 'missing-input', paths: pre.missing, message: lines.join('; '), code: gone.length ? 'PATH_MISSING' : 'INPUT_SYMLINK' };
    }
    const key = cacheKey(pre.preimage);
    const record = this.cache.readRecord(key);
    if (record) {
      const check = this.cache.checkOutputs(record);
      if (!check.ok) {
        return {
          state: 'run',
          key,
          preimage: pre.preimage,
          previous: record,
          reason: { kind: 'corrupted', details: check.bad.map((b) => `${b.path}: ${b.problem}`) },
        };
      }
      if (!forced) return { state: 'cached', key, preimage: pre.preimage, record };
      return { state: 'run', key, preimage: pre.preimage, previous: record, reason: { kind: 'forced', details: [] } };
    }
    const previous = this.previousRecord(inst);
    if (forced) return { state: 'run', key, preimage: pre.preimage, previous, reason: { kind: 'forced', details: [] } };
    if (!previous) return { state: 'run', key, preimage: pre.preimage, reason: { kind: 'never-run', details: [] } };
    const changes = diffPreimages(previous.preimage, pre.preimage).map((c) => this.refineExternal(inst, previous, describeChange(c)));
    return { state: 'run', key, preimage: pre.preimage, previous, reason: { kind: 'changed', details: changes } };
  }

  /**
   * Evaluate instances without running anything: an instance whose upstream is not
   * cached is `blocked` (its key depends on outputs that do not exist yet).
   */
  analyze(ids: Iterable<string>, forced: ReadonlySet<string> = new Set()): Map<string, StaticEvaluation> {
    const out = new Map<string, StaticEvaluation>();
    const visit = (id: string): StaticEvaluation => {
      const hit = out.get(id);
      if (hit) return hit;
      const inst = this.plan.instances.get(id);
      if (!inst) throw new Error(`analyze: unknown instance ${id}`);
      const upstream = new Map<string, OutputManifest>();
      const on: string[] = [];
      for (const dep of inst.deps) {
        const e = visit(dep);
        if (e.state === 'cached') upstream.set(dep, e.record.outputs);
        else on.push(dep);
      }
      let res: StaticEvaluation;
      if (on.length) res = { state: 'blocked', on, previous: this.previousRecord(inst) };
      else res = this.evaluate(inst, upstream, forced.has(id));
      out.set(id, res);
      return res;
    };
    for (const id of ids) visit(id);
    return out;
  }
}
