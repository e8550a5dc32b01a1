/**
 * The statistics core: pure functions (no I/O) over float64 typed arrays that reproduce the
 * study's numbers (svcca CCA, prediction similarity, scikit-learn AUC and folds, seaborn
 * regression bands). Problems with the input are thrown as `StatsError` with a stable code;
 * no function returns NaN. See docs/stats.md.
 */
export * from './errors.ts';
export * from './rng.ts';
export * from './kfold.ts';
export * from './mat.ts';
export { ccaSimilarity, sumThresholdCount, type CcaOptions, type CcaResult } from './cca.ts';
export * from './layer-cca.ts';
export * from './predsim.ts';
export * from './auc.ts';
export * from './regression.ts';
