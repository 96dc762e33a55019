/**
 * Input checks shared by the paired (truth, prediction) metrics.
 *
 * @module
 */

import { ConfigError, DataError } from "../errors.ts";

/**
 * Checks that truth and prediction have equal lengths (ConfigError) and only finite values (DataError naming the
 * first offending row). `what` names the metric in the message.
 */
export function assertPaired(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, what: string): void {
  if (yTrue.length !== yPred.length) {
    throw new ConfigError(`${what}: yTrue has ${yTrue.length} values but yPred has ${yPred.length}`);
  }
  for (let i = 0; i < yTrue.length; i++) {
    if (!Number.isFinite(yTrue[i]) || !Number.isFinite(yPred[i])) {
      throw new DataError(`${what}: non-finite value at row ${i}`, {
        expected: "finite numbers",
        found: `yTrue=${yTrue[i]}, yPred=${yPred[i]}`,
      });
    }
  }
}
