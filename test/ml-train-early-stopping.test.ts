/** Keras EarlyStopping / ModelCheckpoint(save_best_only) decision logic on crafted curves. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestStep, bestTracker, earlyStopping, earlyStoppingStep, epochsUntilStop, improves } from '../src/ml/train/early-stopping.ts';
import { phasePlan, resolveTrainParams } from '../src/ml/train/params.ts';
import { TrainError } from '../src/ml/train/errors.ts';

test('val_loss patience 3: stops 3 epochs after the last improvement', () => {
  // best at epoch 2 (0.5); epochs 3, 4, 5 do not improve -> stop after epoch 5.
  assert.equal(epochsUntilStop([0.9, 0.5, 0.6, 0.55, 0.5, 0.4, 0.3], 'val_loss', 3), 5);
  // equal is not an improvement (Keras np.less), a strictly lower value resets the wait.
  assert.equal(epochsUntilStop([1, 0.8, 0.8, 0.79, 0.8, 0.8, 0.8, 0.1], 'val_loss', 3), 7);
  // never stops when every epoch improves
  assert.equal(epochsUntilStop([5, 4, 3, 2, 1], 'val_loss', 3), 5);
  // NaN never improves
  assert.equal(epochsUntilStop([1, NaN, NaN, NaN, 0], 'val_loss', 3), 4);
});

test('val_acc patience 2 (head phase) maximises; patience 0 stops after the second epoch at the earliest', () => {
  assert.equal(epochsUntilStop([0.5, 0.6, 0.6, 0.55, 0.9], 'val_acc', 2), 4);
  assert.equal(epochsUntilStop([0.5, 0.7, 0.8], 'val_acc', 2), 3);
  // Keras: `wait >= patience and epoch > 0`, so even patience 0 trains two epochs.
  assert.equal(epochsUntilStop([0.5, 0.6, 0.7], 'val_loss', 0), 2);
});

test('state is plain data and steps do not mutate it', () => {
  const s0 = earlyStopping('val_loss', 3);
  const s1 = earlyStoppingStep(s0, 0.7);
  assert.equal(s0.best, null);
  assert.equal(s1.best, 0.7);
  assert.deepEqual(JSON.parse(JSON.stringify(s1)), s1);
  assert.equal(improves(0.7, 0.7, 'min'), false);
  assert.equal(improves(0.69, 0.7, 'min', 0.005), true);
  assert.equal(improves(0.698, 0.7, 'min', 0.005), false);
});

test('best checkpoint: strictly better only; the evaluated epoch is the minimum val_loss', () => {
  let b = bestTracker('val_loss');
  const saves: number[] = [];
  [0.9, 0.5, 0.6, 0.5, 0.45, 0.7].forEach((v, i) => {
    const r = bestStep(b, v, i + 1);
    b = r.state;
    if (r.save) saves.push(i + 1);
  });
  assert.deepEqual(saves, [1, 2, 5]);
  assert.equal(b.epoch, 5);
  assert.equal(b.value, 0.45);
});

test('params: paper defaults, shortcuts, phase plan and BAD_PARAM', () => {
  const p = resolveTrainParams();
  assert.equal(p.lr, 1e-5);
  assert.equal(p.patience, 3);
  assert.deepEqual(p.headPhase, { lr: 1e-3, patience: 2, monitor: 'val_acc', maxEpochs: 200 });
  assert.deepEqual(p.adam, { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
  assert.equal(p.augment?.flip, true);
  assert.equal(resolveTrainParams({ flip: false }).augment?.flip, false);
  assert.equal(resolveTrainParams({ augment: false }).augment, null);
  assert.deepEqual(phasePlan(p).map((x) => x.phase), ['full']);
  const f = phasePlan(resolveTrainParams({ freeze: true }));
  assert.deepEqual(f.map((x) => [x.phase, x.lr, x.monitor, x.patience, x.trainBackbone, x.checkpoint]), [
    ['head', 1e-3, 'val_acc', 2, false, false],
    ['full', 1e-5, 'val_loss', 3, true, true],
  ]);
  assert.throws(() => resolveTrainParams({ lr: -1 }), (e: unknown) => e instanceof TrainError && e.code === 'BAD_PARAM' && /lr/.test(e.message));
  assert.throws(() => resolveTrainParams({ augment: { zoom: [1.2, 0.9] } }), (e: unknown) => e instanceof TrainError && /augment.zoom/.test(e.message));
});
