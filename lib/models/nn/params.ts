/**
 * Named, seeded parameters for the neural models.
 *
 * Every weight is created from a {@link SeededRandom} in JS (Glorot/Xavier uniform by default, orthogonal-free for
 * simplicity) and wrapped in a tfjs variable whose engine-wide name carries a per-instance prefix (tfjs refuses two
 * variables with the same name), while checkpoints and saved models use the logical name (`lstm/kernel`).
 *
 * @module
 */

import { tf } from "../../training/tfjs.ts";
import { SeededRandom } from "../../training/rng.ts";

let instanceCounter = 0;

/** Initializers for {@link ParamStore.add}. */
export type Init =
  | { kind: "glorot"; fanIn: number; fanOut: number; gain?: number }
  | { kind: "zeros" }
  | { kind: "ones" }
  | { kind: "constant"; value: number }
  | { kind: "normal"; std: number };

/** A model's parameters: trainable variables and non-trainable state, by logical name. */
export class ParamStore {
  readonly prefix: string;
  readonly rng: SeededRandom;
  readonly trainable: Array<[string, tf.Variable]> = [];
  readonly state: Array<[string, tf.Variable]> = [];

  /** `seed` drives every initializer, in creation order. */
  constructor(seed: number) {
    this.prefix = `candor${instanceCounter++}`;
    this.rng = new SeededRandom(seed);
  }

  /** Creates a variable of `shape` with the given initializer. */
  add(name: string, shape: number[], init: Init, trainable = true): tf.Variable {
    const size = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(size);
    switch (init.kind) {
      case "glorot": {
        const limit = (init.gain ?? 1) * Math.sqrt(6 / (init.fanIn + init.fanOut));
        for (let i = 0; i < size; i++) v[i] = (2 * this.rng.uniform() - 1) * limit;
        break;
      }
      case "normal":
        for (let i = 0; i < size; i++) v[i] = this.rng.normal() * init.std;
        break;
      case "ones":
        v.fill(1);
        break;
      case "constant":
        v.fill(init.value);
        break;
      case "zeros":
        break;
    }
    const variable = tf.variable(tf.tensor(v, shape), trainable, `${this.prefix}/${name}`);
    (trainable ? this.trainable : this.state).push([name, variable]);
    return variable;
  }

  /** All variables (trainable then state) as logical name → values, for saving. */
  snapshot(): Record<string, { shape: number[]; values: number[] }> {
    const out: Record<string, { shape: number[]; values: number[] }> = {};
    for (const [name, v] of [...this.trainable, ...this.state]) {
      out[name] = { shape: v.shape, values: Array.from(v.dataSync()) };
    }
    return out;
  }

  /** Assigns values saved by {@link ParamStore.snapshot}. */
  load(saved: Record<string, { shape: number[]; values: number[] }>): void {
    for (const [name, v] of [...this.trainable, ...this.state]) {
      const s = saved[name];
      if (s === undefined) throw new Error(`saved model lacks variable "${name}"`);
      v.assign(tf.tensor(Float32Array.from(s.values), s.shape));
    }
  }

  /** Disposes every variable. */
  dispose(): void {
    for (const [, v] of [...this.trainable, ...this.state]) v.dispose();
  }
}
