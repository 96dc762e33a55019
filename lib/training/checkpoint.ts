/**
 * Training checkpoints: variables, optimizer slots, schedule state, RNG state, early-stopping state and history in
 * one JSON file, written atomically (temp file + rename) so a crash mid-write never leaves a truncated checkpoint.
 *
 * Tensors are stored as base64 of their little-endian float32 bytes: exact (no decimal round-trip) and compact.
 * Variables are keyed by their logical names (the model's own names, without the per-instance prefix tfjs needs for
 * uniqueness), so a freshly built model can load them.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ConfigError } from "../errors.ts";
import type { RandomState } from "./rng.ts";
import type { ScheduleState } from "./schedules.ts";

/** A float32 tensor in serialized form. */
export interface SerializedTensor {
  /** Tensor shape; `data` holds prod(shape) values in row-major order. */
  shape: number[];
  /** base64 of the float32 little-endian bytes. */
  data: string;
}

/** Encodes float32 values. */
export function encodeFloat32(shape: number[], values: Float32Array): SerializedTensor {
  const copy = new Float32Array(values);
  return { shape, data: Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength).toString("base64") };
}

/** Decodes {@link encodeFloat32}. */
export function decodeFloat32(t: SerializedTensor): Float32Array {
  const buf = Buffer.from(t.data, "base64");
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/** Everything needed to resume training exactly. */
export interface Checkpoint {
  /** Format tag, checked on read so that any other JSON file is refused instead of half-loaded. */
  format: "candor-checkpoint/1";
  /** Number of completed epochs. */
  epoch: number;
  /**
   * Weights and non-trainable state (e.g. batch-norm statistics) at the end of `epoch`, keyed by the model's logical
   * variable names.
   */
  variables: Record<string, SerializedTensor>;
  /** Adam step count and flat first/second moments (parameters in the model's variable order). */
  optimizer: { iterations: number; m: SerializedTensor; v: SerializedTensor };
  /** Learning-rate schedule state, so the schedule (including plateau counters) continues where it stopped. */
  schedule: ScheduleState;
  /** Shuffling RNG state after `epoch`, so the next epoch's order is the one an uninterrupted run would draw. */
  rng: RandomState;
  /**
   * Early-stopping state: the best monitored loss so far (null while none is finite), its 1-based epoch counted within
   * the training call (no `epochOffset`), and epochs without improvement since.
   */
  earlyStopping: { best: number | null; bestEpoch: number; wait: number };
  /** Weights of the best epoch so far (for restore-best), when early stopping restores. */
  bestVariables?: Record<string, SerializedTensor>;
  /** Per-epoch records so far (JSON). */
  history: unknown[];
}

/** Path of the checkpoint file inside a checkpoint folder. */
export function checkpointPath(dir: string): string {
  return join(dir, "checkpoint.json");
}

/** Writes a checkpoint atomically into `dir/checkpoint.json`. */
export function writeCheckpoint(dir: string, c: Checkpoint): void {
  const path = checkpointPath(dir);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}`;
  writeFileSync(tmp, JSON.stringify(c));
  renameSync(tmp, path);
}

/** Reads a checkpoint folder (or file); ConfigError when absent or not a candor checkpoint. */
export function readCheckpoint(dirOrFile: string): Checkpoint {
  const path = dirOrFile.endsWith(".json") ? dirOrFile : checkpointPath(dirOrFile);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot resume: no checkpoint at ${path} (${(e as Error).message})`);
  }
  const c = JSON.parse(text) as Checkpoint;
  if (c.format !== "candor-checkpoint/1") {
    throw new ConfigError(`${path} is not a candor checkpoint (format ${JSON.stringify(c.format)})`);
  }
  return c;
}
