/**
 * Training progress bar on stderr (cli-progress): epoch, batch, loss, learning rate and gradient norm. Off when stderr
 * is not a terminal (CI logs, pipes), so logs never fill with carriage returns.
 *
 * @module
 */

import cliProgress from "cli-progress";
import process from "node:process";

/** Whether to draw: `true`/`false`, or `"auto"` (only when stderr is a terminal). */
export type ProgressSetting = boolean | "auto";

/** A progress bar for one training run; every method is a no-op when disabled. */
export class TrainingProgress {
  readonly enabled: boolean;
  // deno-lint-ignore no-explicit-any
  #bar: any;

  constructor(setting: ProgressSetting = "auto") {
    this.enabled = setting === "auto" ? Deno.stderr.isTerminal() : setting;
  }

  /** Starts the bar for `totalSteps` optimizer steps. */
  start(totalSteps: number, startStep = 0): void {
    if (!this.enabled) return;
    this.#bar = new cliProgress.SingleBar({
      stream: process.stderr,
      format: "epoch {epoch} |{bar}| {value}/{total} steps | loss {loss} | lr {lr} | grad norm {gnorm}",
      hideCursor: true,
      clearOnComplete: false,
    }, cliProgress.Presets.shades_classic);
    this.#bar.start(totalSteps, startStep, { epoch: "-", loss: "-", lr: "-", gnorm: "-" });
  }

  /** Moves to `step` and shows the latest values. */
  update(step: number, epoch: number, loss: number, lr: number, gradNorm: number): void {
    this.#bar?.update(step, {
      epoch,
      loss: loss.toPrecision(4),
      lr: lr.toExponential(2),
      gnorm: gradNorm.toPrecision(3),
    });
  }

  /** Finishes the bar (leaves the last line on screen). */
  stop(): void {
    this.#bar?.stop();
    this.#bar = undefined;
  }
}
