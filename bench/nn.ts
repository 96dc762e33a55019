/**
 * Neural training throughput and peak memory against PyTorch CPU (bench/reference/nn_torch.py, Debian python3-torch,
 * OPENBLAS_NUM_THREADS=1, 2 intra-op threads), same models, shapes, optimizer and batch size:
 *
 * - LSTM [60 steps × 20 features] → LSTM(64) → Dense(1), MSE, batch 256; target ≥ 1.0× PyTorch.
 * - MLP 20 → 128 → 128 → 3, cross-entropy, batch 256; target ≥ 1.0× PyTorch.
 * - xLSTM-TS [16 steps × 12 features] → embedding(16) → one residual sLSTM block → LayerNorm → Dense(1), MSE, batch
 *   256 (the `xlstm` kind's defaults on the base feature set); no issue target, held to the same ≥ 1.0×.
 * - Peak memory of each side's training process; target ≤ 1.2× PyTorch.
 *
 * Both sides run in processes of their own, one model per process, interleaved candor / PyTorch `ROUNDS` times
 * (default 5); each row reports medians, the range over rounds and the median of the per-round (paired) ratios. candor
 * trains through the real training loop (per-batch tensors, global-norm computed every step, loss read back every
 * step, Adam) on the backend `initBackend()` selects (wasm with OpenBLAS here), with the models' default
 * `workers: "auto"` (two gradient threads on two or more cores when the shards are large enough: the LSTM; the MLP
 * stays on one), so both sides use up to two threads; candor on one thread (`workers: 1`) is in the notes. Throughput
 * is samples per second over the epochs after a warm-up epoch (PyTorch: after two warm-up steps, over as many steps).
 *
 * The notes also give samples per CPU-second with one thread on each side (the process's CPU time over the timed
 * steps): the two implementations' efficiency, which other processes on a busy machine move much less than wall-clock
 * throughput.
 *
 * Peak memory is the kernel's high-water mark of resident memory, `VmHWM` in /proc/self/status, read at the end of
 * each training process on both sides (the Deno process holds two wasm heaps and two V8 isolates when training uses a
 * gradient worker).
 *
 * PyTorch's OpenMP wait policy decides its 2-thread speed, in opposite directions depending on load: spinning threads
 * make it 10–20× slower when another process holds a core, passive waiting makes it ~40 % slower on a quiet machine.
 * Each round runs both and the reference is the faster, so a ratio never profits from a handicapped reference. Both
 * sides load the same OpenBLAS with the same `OPENBLAS_CORETYPE` (inherited from the environment).
 *
 * `deno run -A bench/nn.ts --child lstm|mlp WORKERS` is one candor measurement (what run() starts); it prints one JSON
 * line like the PyTorch script.
 *
 * @module
 */

import process from "node:process";
import { fileURLToPath } from "node:url";
import { type BenchResult, median, minMax, rangeText, runPython } from "./lib.ts";

const script = fileURLToPath(new URL("./reference/nn_torch.py", import.meta.url));
const self = fileURLToPath(import.meta.url);
const TORCH_POLICIES: Record<string, string>[] = [{}, { OMP_WAIT_POLICY: "PASSIVE" }];
type Kind = "lstm" | "mlp" | "xlstm";
/** Timed optimizer steps per measurement (both sides; candor: two epochs after the warm-up epoch). */
const STEPS: Record<Kind, number> = { lstm: 24, mlp: 200, xlstm: 80 };

/** One training process's result. */
interface Measurement {
  samplesPerSec: number;
  /** Samples per CPU-second of the process (all its threads) over the timed steps: less sensitive to other load. */
  samplesPerCpuSec: number;
  peakMb: number;
}

/** The process's peak resident set size in MB (`VmHWM`, Linux), NaN where /proc is absent. */
function peakRssMb(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(Deno.readTextFileSync("/proc/self/status"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: rows * cols }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** candor's side, in this process: trains one model for 3 epochs and measures epochs 2–3. */
async function child(kind: Kind, workers: number | "auto"): Promise<Record<string, unknown>> {
  const { LSTMRegressor } = await import("../lib/models/nn/lstm.ts");
  const { MLPModel } = await import("../lib/models/nn/mlp.ts");
  const { XLSTMModel } = await import("../lib/models/nn/xlstm.ts");
  const n = (STEPS[kind] / 2) * 256;
  const common = { epochs: 3, batchSize: 256, clipNorm: 1e9, progress: false as const, workers };
  const m = kind === "lstm"
    ? new LSTMRegressor({ timesteps: 60, units: 64, ...common })
    : kind === "xlstm"
    ? new XLSTMModel({ timesteps: 16, units: 16, blocks: 1, ...common })
    : new MLPModel({ task: "multiclass", hidden: [128, 128], ...common });
  const X = kind === "lstm"
    ? { data: randomMatrix(n, 60 * 20, 1), rows: n, cols: 60 * 20 }
    : kind === "xlstm"
    ? { data: randomMatrix(n, 16 * 12, 4), rows: n, cols: 16 * 12 }
    : { data: randomMatrix(n, 20, 3), rows: n, cols: 20 };
  const y = kind !== "mlp"
    ? Float64Array.from(randomMatrix(n, 1, 2))
    : Float64Array.from({ length: n }, (_, i) => i % 3);
  // Process CPU time (all threads) from the end of the warm-up epoch to the end of the last.
  const cpuAt: number[] = [];
  const report = await m.fit(X, y, {
    onProgress: () => {
      const u = process.cpuUsage();
      cpuAt.push((u.user + u.system) / 1e6);
    },
  });
  const timed = m.history.slice(1);
  const seconds = timed.reduce((a, h) => a + h.seconds, 0);
  const d = report.details!;
  m.dispose();
  return {
    model: kind,
    samples_per_sec: (timed.length * n) / seconds,
    cpu_seconds: cpuAt[cpuAt.length - 1] - cpuAt[0],
    peak_rss_mb: peakRssMb(),
    workers: d.workers,
    backend: d.backend,
    blas: (d.backendPatches as string[]).find((p) => p.startsWith("blas")) ?? "",
  };
}

/** Runs {@link child} in a new Deno process. */
async function candor(kind: Kind, workers: number | "auto"): Promise<Measurement & { info: Record<string, unknown> }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", self, "--child", kind, String(workers)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) throw new Error(`candor ${kind} run failed: ${new TextDecoder().decode(out.stderr)}`);
  const info = JSON.parse(text.split("\n").at(-1)!);
  const samples = STEPS[kind] * 256;
  return {
    samplesPerSec: info.samples_per_sec,
    samplesPerCpuSec: samples / info.cpu_seconds,
    peakMb: info.peak_rss_mb,
    info,
  };
}

/** PyTorch on `threads` threads under each wait policy; the faster run is the reference. */
async function torch(kind: Kind, threads: number) {
  const runs = [];
  for (const env of TORCH_POLICIES) {
    runs.push(await runPython(script, [kind, String(STEPS[kind]), String(threads)], env));
  }
  const speeds = runs.map((r) => r.samples_per_sec as number);
  const best = speeds[0] >= speeds[1] ? 0 : 1;
  return {
    samplesPerSec: speeds[best],
    samplesPerCpuSec: (STEPS[kind] * 256) / (runs[best].cpu_seconds as number),
    peakMb: runs[best].peak_rss_mb as number,
    policies: `default ${speeds[0].toFixed(0)}, passive ${speeds[1].toFixed(0)}`,
    version: runs[0].torch as string,
  };
}

const fmt = (xs: number[], digits = 0) => xs.map((v) => v.toFixed(digits)).join("/");
/** Runs the benchmark; see the module doc. */
export async function run(): Promise<BenchResult[]> {
  const rounds = Number(Deno.env.get("ROUNDS") ?? 5);
  const kinds: Kind[] = ["lstm", "mlp", "xlstm"];
  const perKind = <T>(make: () => T) => ({ lstm: make(), mlp: make(), xlstm: make() });
  const ours = perKind(() => [] as Measurement[]), oneThread = perKind(() => [] as Measurement[]);
  const ref = perKind(() => [] as Measurement[]), ref1 = perKind(() => [] as Measurement[]);
  const policies = perKind(() => [] as string[]);
  const info: Record<Kind, Record<string, unknown>> = perKind(() => ({}));
  let version = "";
  for (let r = 0; r < rounds; r++) {
    for (const kind of kinds) {
      const c = await candor(kind, "auto");
      ours[kind].push(c);
      info[kind] = c.info;
      const t = await torch(kind, 2);
      ref[kind].push(t);
      policies[kind].push(t.policies);
      version = t.version;
      oneThread[kind].push(await candor(kind, 1));
      ref1[kind].push(await torch(kind, 1));
    }
  }
  const load = `load average ${Deno.loadavg().map((v) => v.toFixed(2)).join(" ")} at the end`;
  const common = (kind: Kind) =>
    `${rounds} interleaved rounds; candor on ${info[kind].backend} with ${info[kind].blas || "no BLAS"}; PyTorch ` +
    `${version}, OPENBLAS_CORETYPE=${Deno.env.get("OPENBLAS_CORETYPE") ?? "(library's choice)"} on both sides`;
  const throughput = (kind: Kind, name: string): BenchResult => {
    const c = ours[kind].map((m) => m.samplesPerSec), t = ref[kind].map((m) => m.samplesPerSec);
    const paired = c.map((v, i) => v / t[i]);
    const c1 = oneThread[kind].map((m) => m.samplesPerSec), t1 = ref1[kind].map((m) => m.samplesPerSec);
    const value = median(c), reference = median(t), one = median(c1), r1 = median(t1);
    // Per CPU-second on one thread each: the two implementations' efficiency, much less moved by other processes.
    const cpu1 = oneThread[kind].map((m) => m.samplesPerCpuSec), tcpu1 = ref1[kind].map((m) => m.samplesPerCpuSec);
    const pairedCpu = cpu1.map((v, i) => v / tcpu1[i]);
    return {
      name,
      value,
      unit: "samples/s",
      range: minMax(c),
      reference,
      referenceRange: minMax(t),
      ratio: value / reference,
      target: "≥ 1.0× PyTorch CPU",
      pass: value / reference >= 1,
      notes: `candor ${info[kind].workers} gradient thread(s) (workers "auto"), runs ${fmt(c)} (range ` +
        `${rangeText(c, 0)}); PyTorch 2 threads, the faster wait policy each round (${
          policies[kind].join(" | ")
        }), runs ` +
        `${fmt(t)} (range ${rangeText(t, 0)}); paired ratios ${fmt(paired, 2)} (median ${
          median(paired).toFixed(2)
        }, range ` +
        `${rangeText(paired, 2)}); candor 1 thread ${one.toFixed(0)} samples/s (runs ${fmt(c1)}), PyTorch 1 thread ` +
        `${r1.toFixed(0)} (runs ${fmt(t1)}): ${(one / r1).toFixed(2)}×; per CPU-second on 1 thread each: candor ` +
        `${median(cpu1).toFixed(0)} (runs ${fmt(cpu1)}), PyTorch ${median(tcpu1).toFixed(0)} (runs ${fmt(tcpu1)}), ` +
        `paired ratios ${fmt(pairedCpu, 2)} (median ${median(pairedCpu).toFixed(2)}); ${common(kind)}; ${load}`,
    };
  };
  const memory = (kind: Kind, name: string): BenchResult => {
    const c = ours[kind].map((m) => m.peakMb), t = ref[kind].map((m) => m.peakMb);
    const value = median(c), reference = median(t);
    return {
      name,
      value,
      unit: "MB",
      range: minMax(c),
      reference,
      referenceRange: minMax(t),
      ratio: value / reference,
      target: "≤ 1.2× PyTorch",
      pass: value / reference <= 1.2,
      notes: `ratio = candor / PyTorch (> 1: candor uses more); VmHWM of each side's training process (candor with ` +
        `${info[kind].workers} gradient thread(s)); candor ${fmt(c)} MB, PyTorch ${fmt(t)} MB; ${common(kind)}`,
    };
  };
  return [
    throughput("lstm", "nn: LSTM [60×20]→LSTM(64)→Dense(1) training, batch 256"),
    throughput("mlp", "nn: MLP 20→128→128→3 training, batch 256"),
    throughput("xlstm", "nn: xLSTM-TS [16×12]→sLSTM block(16)→Dense(1) training, batch 256"),
    memory("lstm", "nn: peak memory, LSTM training process (VmHWM)"),
    memory("mlp", "nn: peak memory, MLP training process (VmHWM)"),
  ];
}

if (import.meta.main) {
  if (Deno.args[0] === "--child") {
    const workers = Deno.args[2] === "auto" ? "auto" : Number(Deno.args[2]);
    console.log(JSON.stringify(await child(Deno.args[1] as Kind, workers)));
  } else console.table(await run());
}
