/**
 * The training thread behind {@link boostOffThread}: runs boosting loops on its own thread, one at a time, and posts
 * each loop's progress and then its booster, serialized with its configuration.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { boost, type BoostMessage, type BoostRequest } from "./boost.ts";

function post(m: BoostMessage, transfer: ArrayBuffer[] = []): void {
  self.postMessage(m, transfer);
}

self.onmessage = async (e: MessageEvent<BoostRequest>) => {
  try {
    const { spec, stop } = e.data;
    const { booster, ...rest } = await boost(spec, (round) => post({ round }), { release: true, stop });
    const bytes = booster.serialize();
    booster.free();
    const moved = [bytes.buffer as ArrayBuffer];
    if (rest.trainPredictions) moved.push(rest.trainPredictions.buffer as ArrayBuffer);
    post({ done: { ...rest, booster: bytes } }, moved);
  } catch (err) {
    post({
      error: { name: err instanceof Error ? err.name : "Error", message: String((err as Error)?.message ?? err) },
    });
  }
};
