/**
 * Worker processes for the scheduler. By default every instance gets a fresh process
 * (its own memory, native state and CUDA_VISIBLE_DEVICES; a clean kill on Ctrl-C). A
 * kind that declares `reuseWorker: true` (cheap, stateless stages) may run several
 * instances one after another in one idle process with the same kind file and device,
 * which saves the ~0.3 s start-up of Node + tsx per instance.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DeviceAssignment } from '../core/contract.ts';
import type { FromWorker, ToWorker, WorkerContextData } from './worker-protocol.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

/** How one instance ended inside a worker. */
export type WorkerResult = { ok: true } | { ok: false; code: string; message: string; stack?: string };

/** Callbacks for what a running instance reports. */
export interface WorkerListener {
  progress(p: Extract<FromWorker, { type: 'progress' }>['progress']): void;
  log(level: 'info' | 'warn', message: string): void;
}

class WorkerHandle {
  readonly child: ChildProcess;
  listener: WorkerListener | undefined;
  private settle: ((r: WorkerResult) => void) | undefined;
  private pending: WorkerResult | undefined;
  private keepAlive = false;
  exited = false;

  constructor(readonly poolKey: string, cwd: string, device: DeviceAssignment, private readonly onExit: (w: WorkerHandle) => void) {
    this.child = fork(WORKER, [], {
      execArgv: ['--import', TSX],
      cwd,
      // CPU instances see no card at all, so a GPU build of a library cannot grab one.
      env: { ...process.env, CUDA_VISIBLE_DEVICES: device.type === 'gpu' ? device.id : '' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    this.pipeLines(this.child.stdout);
    this.pipeLines(this.child.stderr);
    this.child.on('message', (raw) => this.onMessage(raw as FromWorker));
    this.child.on('error', (e) => {
      this.pending ??= { ok: false, code: 'WORKER_ERROR', message: e.message };
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      const r = this.pending ?? {
        ok: false as const,
        code: 'WORKER_DIED',
        message: `worker exited with ${signal ? `signal ${signal}` : `code ${code}`} before finishing`,
      };
      this.finish(r);
      this.onExit(this);
    });
  }

  private pipeLines(stream: NodeJS.ReadableStream | null): void {
    let buf = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.listener?.log('info', buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    stream?.on('end', () => {
      if (buf) this.listener?.log('info', buf);
    });
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'progress':
        this.listener?.progress(m.progress);
        break;
      case 'log':
        this.listener?.log(m.level, m.message);
        break;
      case 'done':
        this.pending = { ok: true };
        if (this.keepAlive) this.finish(this.pending);
        break;
      case 'failed':
        this.pending = { ok: false, code: m.error.code, message: m.error.message, ...(m.error.stageError ? {} : { stack: m.error.stack }) };
        break;
      default: {
        const never: never = m;
        throw new Error(`unknown worker message ${JSON.stringify(never)}`);
      }
    }
  }

  private finish(r: WorkerResult): void {
    const s = this.settle;
    this.settle = undefined;
    s?.(r);
  }

  /** Run one instance; resolves when it is done (a fresh worker: when the process has exited). */
  run(moduleUrl: string, ctx: WorkerContextData, keepAlive: boolean, listener: WorkerListener): Promise<WorkerResult> {
    this.listener = listener;
    this.keepAlive = keepAlive;
    this.pending = undefined;
    return new Promise<WorkerResult>((res) => {
      this.settle = res;
      const msg: ToWorker = { type: 'run', moduleUrl, ctx, keepAlive };
      this.child.send(msg);
    });
  }

  kill(): void {
    if (this.exited) return;
    try {
      this.child.kill('SIGTERM');
    } catch {
      /* gone */
    }
    setTimeout(() => {
      if (!this.exited) {
        try { this.child.kill('SIGKILL'); } catch { /* gone */ }
      }
    }, 3000).unref();
  }
}

/** Starts workers, keeps idle reusable ones, kills them all on abort or at the end. */
export class WorkerPool {
  private readonly all = new Set<WorkerHandle>();
  private readonly idle = new Map<string, WorkerHandle[]>();

  constructor(private readonly cwd: string) {}

  /** Run one instance of the kind in `kindFile` on `device`. */
  async run(kindFile: string, moduleUrl: string, device: DeviceAssignment, reuse: boolean, ctx: WorkerContextData, listener: WorkerListener): Promise<WorkerResult> {
    const poolKey = `${kindFile}\0${device.type === 'gpu' ? device.id : 'cpu'}`;
    let w = reuse ? this.idle.get(poolKey)?.pop() : undefined;
    if (!w || w.exited) {
      w = new WorkerHandle(poolKey, this.cwd, device, (dead) => {
        this.all.delete(dead);
        const list = this.idle.get(dead.poolKey);
        if (list) this.idle.set(dead.poolKey, list.filter((x) => x !== dead));
      });
      this.all.add(w);
    }
    const r = await w.run(moduleUrl, ctx, reuse, listener);
    w.listener = undefined;
    if (reuse && r.ok && !w.exited) {
      const list = this.idle.get(poolKey) ?? [];
      list.push(w);
      this.idle.set(poolKey, list);
    } else if (!w.exited) {
      w.kill();
    }
    return r;
  }

  /** Number of live worker processes. */
  get size(): number {
    return this.all.size;
  }

  /** Kill every worker (Ctrl-C, or idle ones at the end of a run). */
  killAll(): void {
    for (const w of this.all) w.kill();
    this.idle.clear();
  }
}
