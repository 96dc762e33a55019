"""PyTorch CPU reference for bench/nn.ts: training throughput of the same models on the same shapes.

LSTM [60 steps x 20 features] -> LSTM(64) -> Linear(1), MSE; MLP 20 -> 128 -> 128 -> 3, cross-entropy; xLSTM-TS
[16 steps x 12 features] -> Linear(16) -> x + sLSTM(LayerNorm(x)) -> LayerNorm -> last step -> Linear(1), MSE (the
`xlstm` kind's defaults; the sLSTM cell written op by op as in lib/models/nn/layers.ts, stabilizer included). Adam, batch
256, global-norm clipping computed every step (as candor's loop does; threshold high enough never to bind), loss read
back every step. Run with Debian's python3-torch, OPENBLAS_NUM_THREADS=1 and 2 intra-op threads.

Usage: nn_torch.py lstm|mlp|xlstm STEPS [THREADS]; prints one JSON line:
{"model", "samples_per_sec", "seconds", "cpu_seconds", "steps", "batch", "peak_rss_mb", "torch"} (cpu_seconds: the
process's CPU time over the timed steps, all threads).
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

kind = sys.argv[1]
steps = int(sys.argv[2])
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
torch.set_num_threads(threads)
torch.manual_seed(0)
batch = 256

if kind == "lstm":

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(20, 64, batch_first=True)
            self.head = torch.nn.Linear(64, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1, :]).squeeze(-1)

    net = Net()
    xs = torch.randn(steps + 2, batch, 60, 20)
    ys = torch.randn(steps + 2, batch)
    loss_fn = torch.nn.MSELoss()
elif kind == "mlp":
    net = torch.nn.Sequential(
        torch.nn.Linear(20, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128), torch.nn.ReLU(), torch.nn.Linear(128, 3)
    )
    xs = torch.randn(steps + 2, batch, 20)
    ys = torch.randint(0, 3, (steps + 2, batch))
    loss_fn = torch.nn.CrossEntropyLoss()
elif kind == "xlstm":
    T, FEATURES, H = 16, 12, 16

    class SLSTM(torch.nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.h = h
            self.wx = torch.nn.Linear(d, 4 * h)
            self.wh = torch.nn.Linear(h, 4 * h, bias=False)

        def forward(self, x):
            b, t_len, _ = x.shape
            proj = self.wx(x)
            h = c = n = m = torch.zeros(b, self.h)
            hs = []
            for t in range(t_len):
                i, f, z, o = (proj[:, t] + self.wh(h)).chunk(4, 1)
                log_f = -F.softplus(-f)
                m_new = i if t == 0 else torch.maximum(log_f + m, i)
                i_p = torch.exp(i - m_new)
                f_p = torch.exp(log_f + m - m_new)
                c = f_p * c + i_p * torch.tanh(z)
                n = f_p * n + i_p
                m = m_new
                h = torch.sigmoid(o) * c / n
                hs.append(h)
            return torch.stack(hs, 1)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Linear(FEATURES, H)
            self.ln = torch.nn.LayerNorm(H)
            self.cell = SLSTM(H, H)
            self.final_norm = torch.nn.LayerNorm(H)
            self.head = torch.nn.Linear(H, 1)

        def forward(self, x):
            h = self.embed(x)
            h = h + self.cell(self.ln(h))
            return self.head(self.final_norm(h[:, -1])).squeeze(-1)

    net = Net()
    xs = torch.randn(steps + 2, batch, T, FEATURES)
    ys = torch.randn(steps + 2, batch)
    loss_fn = torch.nn.MSELoss()
else:
    raise SystemExit(f"unknown model {kind}")

def peak_rss_mb():
    # VmHWM, not getrusage: Linux carries ru_maxrss across fork + exec, so it would report the parent's peak.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


opt = torch.optim.Adam(net.parameters(), lr=1e-3)


def step(i):
    opt.zero_grad()
    loss = loss_fn(net(xs[i]), ys[i])
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 1e9)
    opt.step()
    return loss.item()


for i in range(2):  # warm-up
    step(i)
t0 = time.perf_counter()
c0 = time.process_time()
for i in range(steps):
    step(2 + i)
seconds = time.perf_counter() - t0
cpu_seconds = time.process_time() - c0
print(
    json.dumps(
        {
            "model": kind,
            "samples_per_sec": steps * batch / seconds,
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "steps": steps,
            "batch": batch,
            "peak_rss_mb": peak_rss_mb(),
            "torch": torch.__version__,
        }
    )
)
