/**
 * Run and study identifiers: `run_` or `study_` + a ULID (48-bit millisecond timestamp + 80 random bits, Crockford
 * base32), so ids sort by creation time as plain strings and two machines writing to one Postgres store never collide.
 *
 * Hand-written (26 lines) rather than a dependency: the encoding is fixed by the ULID spec and needs only
 * `crypto.getRandomValues`. Ids made in the same millisecond by one process are monotonic (the random part is
 * incremented), so creation order survives even when the clock does not advance.
 *
 * @module
 */

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

let lastTime = -1;
let lastRandom: Uint8Array = new Uint8Array(10);

function increment(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] < 255) {
      out[i]++;
      return out;
    }
    out[i] = 0;
  }
  return out; // 2^80 ids in one millisecond: wraps, practically unreachable
}

/** A new run id, e.g. `run_01JD5Z8Q2N4W6Y8A0C2E4G6J8M`. `now` is epoch milliseconds (for tests). */
export function newRunId(now: number = Date.now()): string {
  return `run_${ulid(now)}`;
}

/** A 26-character ULID for `now` (epoch milliseconds), monotonic within a millisecond in this process. */
function ulid(now: number): string {
  let random: Uint8Array;
  if (now === lastTime) random = increment(lastRandom);
  else random = crypto.getRandomValues(new Uint8Array(10));
  lastTime = now;
  lastRandom = random;
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  // 80 random bits → 16 base32 characters (5 bits each), most significant first.
  let bits = 0n;
  for (const b of random) bits = (bits << 8n) | BigInt(b);
  let rand = "";
  for (let i = 0; i < 16; i++) {
    rand = CROCKFORD[Number(bits & 31n)] + rand;
    bits >>= 5n;
  }
  return time + rand;
}

/** True for strings shaped like an id from {@link newRunId}. */
export function isRunId(x: string): boolean {
  return /^run_[0-9A-HJKMNP-TV-Z]{26}$/.test(x);
}

// --- Study ids (schema version 2) ---

/** A new study id, e.g. `study_01JD5Z8Q2N4W6Y8A0C2E4G6J8M`: `study_` + a ULID, like {@link newRunId}. */
export function newStudyId(now: number = Date.now()): string {
  return `study_${ulid(now)}`;
}

/** True for strings shaped like an id from {@link newStudyId}. */
export function isStudyId(x: string): boolean {
  return /^study_[0-9A-HJKMNP-TV-Z]{26}$/.test(x);
}

// --- Production ids (schema version 4) ---

/** A new production model id: `model_` + a ULID, like {@link newRunId}. */
export function newModelId(now: number = Date.now()): string {
  return `model_${ulid(now)}`;
}

/** True for strings shaped like an id from {@link newModelId}. */
export function isModelId(x: string): boolean {
  return /^model_[0-9A-HJKMNP-TV-Z]{26}$/.test(x);
}

/** A new id of a batch of production predictions: `pred_` + a ULID. */
export function newPredictionBatchId(now: number = Date.now()): string {
  return `pred_${ulid(now)}`;
}

/** A new sweep id: `sweep_` + a ULID. */
export function newSweepId(now: number = Date.now()): string {
  return `sweep_${ulid(now)}`;
}
