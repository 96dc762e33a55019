/**
 * The model kinds a study can train: kind → fold trainer. Adding a kind is one file implementing
 * {@link FoldTrainer} (./contract.ts) plus one line here; the study loop never branches on the kind.
 *
 * @module
 */

import type { FoldTrainer } from "./contract.ts";
import { xgboostTrainer } from "./xgboost.ts";
import { elasticNetTrainer } from "./elasticnet.ts";
import { ridgeTrainer } from "./ridge.ts";
import { logisticTrainer } from "./logistic.ts";
import { mlpTrainer } from "./mlp.ts";
import { lstmTrainer } from "./lstm.ts";
import { lstmRegressorTrainer } from "./lstm_regressor.ts";
import { lstmTransformerTrainer } from "./lstm_transformer.ts";
import { xlstmTrainer } from "./xlstm.ts";
import { stackingTrainer } from "./stacking.ts";

// deno-lint-ignore no-explicit-any
type AnyTrainer = FoldTrainer<any>;

const registry = new Map<string, AnyTrainer>();

/** Adds a kind (a test's toy kind, or a plug-in); refuses a kind already registered. */
export function registerTrainer(trainer: AnyTrainer): void {
  if (registry.has(trainer.kind)) throw new Error(`model kind ${JSON.stringify(trainer.kind)} is already registered`);
  registry.set(trainer.kind, trainer);
}

/** Removes a kind added by {@link registerTrainer} (tests). */
export function unregisterTrainer(kind: string): void {
  registry.delete(kind);
}

/** The trainer of a kind, or undefined. */
export function trainerOf(kind: string): AnyTrainer | undefined {
  return registry.get(kind);
}

/** Every registered kind, in registration order. */
export function modelKinds(): string[] {
  return [...registry.keys()];
}

registerTrainer(xgboostTrainer);
registerTrainer(elasticNetTrainer);
registerTrainer(ridgeTrainer);
registerTrainer(logisticTrainer);
registerTrainer(mlpTrainer);
registerTrainer(lstmTrainer);
registerTrainer(lstmRegressorTrainer);
registerTrainer(lstmTransformerTrainer);
registerTrainer(xlstmTrainer);
registerTrainer(stackingTrainer);
