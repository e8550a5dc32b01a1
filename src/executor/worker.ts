/**
 * Worker process entry (forked by the scheduler with `--import tsx`): imports the stage
 * kind's module, builds the StageContext, runs one instance and relays progress, log
 * lines and warnings over IPC. One process per instance gives each its own memory,
 * native state and CUDA_VISIBLE_DEVICES, and a clean kill on Ctrl-C.
 */
import type { StageContext, StageKind } from '../core/contract.ts';
import type { FromWorker, ToWorker } from './worker-protocol.ts';
import { describeFsFailure, isFsFailure } from '../cache/fs-errors.ts';

const controller = new AbortController();

function send(m: FromWorker): Promise<void> {
  return new Promise((res) => {
    if (!process.send || !process.connected) return res();
    process.send(m, undefined, {}, () => res());
  });
}

function isStageError(e: unknown): e is Error & { code: string } {
  // Duck-typed: a plugin may load its own copy of contract.ts, so instanceof is unreliable.
  return e instanceof Error && e.name === 'StageError' && typeof (e as { code?: unknown }).code === 'string';
}

async function runOne(m: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  const mod = (await import(m.moduleUrl)) as { default?: StageKind };
  const kind = mod.default;
  if (!kind || typeof kind.run !== 'function') throw new Error(`${m.moduleUrl} does not default-export a stage kind`);
  const d = m.ctx;
  // Stages may report every batch; more than ~10 updates a second only floods the IPC
  // channel and the NDJSON stream. The last update (done === total) always goes out.
  let lastProgress = 0;
  const ctx: StageContext = {
    ...d,
    signal: controller.signal,
    progress: (p) => {
      const now = Date.now();
      if (now - lastProgress < 100 && p.done < p.total) return;
      lastProgress = now;
      void send({ type: 'progress', progress: { ...p } });
    },
    log: (message) => void send({ type: 'log', level: 'info', message: String(message) }),
    warn: (message) => void send({ type: 'log', level: 'warn', message: String(message) }),
  };
  await kind.run(ctx);
}

// The parent dying (SIGKILL) closes the channel: never keep computing for nobody.
process.on('disconnect', () => process.exit(1));
// Ctrl-C reaches the whole process group: abort the stage, give it a moment to stop.
let running = false;
const onSignal = (): void => {
  if (!running) process.exit(130); // an idle reusable worker has nothing to stop
  controller.abort();
  setTimeout(() => process.exit(130), 1000).unref();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

process.on('message', (raw) => {
  const m = raw as ToWorker;
  if (m.type === 'abort') {
    onSignal();
    return;
  }
  if (m.type !== 'run') return;
  running = true;
  runOne(m).then(
    async () => {
      running = false;
      await send({ type: 'done' });
      if (!m.keepAlive) process.exit(0);
    },
    async (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      // A full disk or a permission problem is the machine's, not a bug: located, no stack.
      const fs = isFsFailure(err) ? describeFsFailure(err, `while running the stage (its outputs go to ${m.ctx.outDir})`) : null;
      await send({
        type: 'failed',
        error: {
          code: fs?.code ?? (isStageError(err) ? err.code : 'STAGE_CRASHED'),
          message: fs?.message ?? err.message,
          stack: err.stack,
          stageError: fs !== null || isStageError(err),
        },
      });
      process.exit(1);
    },
  );
});
