/**
 * Seeded, serializable randomness for training: weight initialization, shuffling, dropout seeds.
 *
 * Wraps pure-rand's xoroshiro128+ so the full generator state can be written into a checkpoint and restored, which is
 * what makes resumed training bit-identical to uninterrupted training.
 *
 * @module
 */

import { xoroshiro128plus, xoroshiro128plusFromState } from "pure-rand/generator/xoroshiro128plus";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";

/** JSON form of a {@link SeededRandom}'s state. */
export interface RandomState {
  /** Generator the state belongs to; always `xoroshiro128plus`. */
  algorithm: "xoroshiro128plus";
  /** The generator's internal state words as pure-rand's `getState()` returns them (32-bit integers). */
  state: number[];
}

type Generator = ReturnType<typeof xoroshiro128plus>;

/** A seeded random number generator whose state can be saved and restored exactly. */
export class SeededRandom {
  #rng: Generator;

  /** Creates a generator from an integer seed (the same seed always gives the same stream). */
  constructor(seed = 42) {
    this.#rng = xoroshiro128plus(seed | 0);
  }

  /** Restores a generator saved with {@link SeededRandom.state}. */
  static fromState(s: RandomState): SeededRandom {
    const r = new SeededRandom(0);
    r.#rng = xoroshiro128plusFromState(s.state);
    return r;
  }

  /** The generator state (JSON-serializable). */
  state(): RandomState {
    return { algorithm: "xoroshiro128plus", state: [...this.#rng.getState()] };
  }

  /** Uniform float in [0, 1). */
  uniform(): number {
    return uniformFloat64(this.#rng);
  }

  /** Uniform integer in [from, to] (both included). */
  int(from: number, to: number): number {
    return uniformInt(this.#rng, from, to);
  }

  /** Standard normal draw (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }

  /** A fresh 31-bit seed, for tfjs ops that take a seed (dropout). */
  seed(): number {
    return this.int(0, 0x7fffffff);
  }

  /** Fisher–Yates permutation of 0..n-1. */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(0, i);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
