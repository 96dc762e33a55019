/**
 * Training progress bar on stderr, or a given stream (cli-progress): epoch, batch, loss, learning rate and gradient
 * norm. Off when the stream is not a terminal (CI logs, pipes), so logs never fill with carriage returns; cli-progress
 * itself draws nothing on a stream that is not a TTY.
 *
 * @module
 */

import type CliProgress from "cli-progress";
import { lazyNamespace, lazyPackage } from "../lazy_package.ts";
import process from "node:process";

/** cli-progress, loaded on first use (lib/lazy_package.ts). */
const cliProgress: typeof CliProgress = lazyNamespace(lazyPackage<typeof CliProgress>("cli-progress"));

/** Whether to draw: `true`/`false`, or `"auto"` (only when the stream is a terminal). */
export type ProgressSetting = boolean | "auto";

/** Where the bar is drawn: a Node-style writable stream (`process.stderr` by default). */
export interface ProgressStream {
  /** Writes a chunk of text (carriage returns and ANSI codes included); the return value is ignored. */
  write(chunk: string): unknown;
  /** Whether the stream is a terminal; cli-progress draws only on terminals. */
  isTTY?: boolean;
  /** Terminal width. */
  columns?: number;
}

/** A progress bar for one training run; every method is a no-op when disabled. */
export class TrainingProgress {
  /** Whether the bar is drawn; decided once, at construction, from the setting and whether the stream is a terminal. */
  readonly enabled: boolean;
  // deno-lint-ignore no-explicit-any
  #bar: any;

  readonly #stream: ProgressStream;

  /** `stream` defaults to stderr; with `"auto"` the bar is drawn only when the stream is a terminal. */
  constructor(setting: ProgressSetting = "auto", stream?: ProgressStream) {
    this.#stream = stream ?? process.stderr;
    this.enabled = setting === "auto" ? (stream ? stream.isTTY === true : Deno.stderr.isTerminal()) : setting;
  }

  /** Starts the bar for `totalSteps` optimizer steps. */
  start(totalSteps: number, startStep = 0): void {
    if (!this.enabled) return;
    this.#bar = new cliProgress.SingleBar({
      stream: this.#stream as typeof process.stderr,
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
