/**
 * Rebuilds a neural model's training replica inside a gradient worker (lib/training/data_parallel.ts): initializes
 * the same backend as the main thread (single-threaded), constructs the model class named by `kind` with the
 * replicated options and returns its training view. Loaded by URL from the worker, never imported by the loop.
 *
 * @module
 */

import { ConfigError } from "../../errors.ts";
import type { Trainable } from "../../training/loop.ts";
import { type BackendRequest, initBackend } from "./backend.ts";
import { LSTMClassifier, LSTMRegressor } from "./lstm.ts";
import { LSTMTransformerModel } from "./lstm_transformer.ts";
import { MLPModel } from "./mlp.ts";
import type { NeuralModel, ReplicaArgs } from "./neural_model.ts";
import { XLSTMModel } from "./xlstm.ts";

// deno-lint-ignore no-explicit-any
const MODELS: Record<string, new (options: any) => NeuralModel> = {
  "mlp": MLPModel,
  "lstm-classifier": LSTMClassifier,
  "lstm-regressor": LSTMRegressor,
  "lstm-transformer": LSTMTransformerModel,
  "xlstm-ts": XLSTMModel,
};

/** Creates the replica described by `args` (see {@link ReplicaArgs}). */
export async function createReplica(args: ReplicaArgs): Promise<Trainable> {
  const Model = MODELS[args.kind];
  if (Model === undefined) throw new ConfigError(`no worker replica for model kind "${args.kind}"`);
  await initBackend(args.backend as BackendRequest);
  return new Model(args.options).replicaTrainable(args);
}
