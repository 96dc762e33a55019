/**
 * Runs the real `candor` entry point (lib/cli/main.ts) in a subprocess, as a user would, and returns its exit status
 * and outputs. Colour is off so tests can read tables and messages as plain text.
 */
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../lib/cli/main.ts", import.meta.url));

/** Exit status, stdout and stderr of one `candor` run. */
export interface CandorResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `candor <args>` with `NO_COLOR=1` plus `env`, stdout and stderr piped (so stderr is not a terminal). */
export function candor(args: string[], env: Record<string, string> = {}): Promise<CandorResult> {
  return denoRun(MAIN, args, env);
}

/** Runs the script at `path` (`deno run -A path <args>`) the same way as {@link candor}. */
export async function denoRun(path: string, args: string[], env: Record<string, string> = {}): Promise<CandorResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path, ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}
