"""PyTorch twins of fallkd's teacher and student, for the speed comparison in BENCHMARKS.md.

Same layers, widths and shapes as fallkd-core (the parameter counts are printed and must match
`fallkd speed`). Times training steps (forward, BCE, backward, AdamW) and batch-1 inference.
Usage: python pytorch_reference.py --model teacher|student --threads N --steps S
"""
import argparse, json, math, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Trunk(nn.Module):
    def __init__(self, d, layers, heads, max_len, dropout=0.1):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(max_len, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout, activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.final_norm = nn.LayerNorm(d)
        self.se1, self.se2 = nn.Linear(d, d // 4), nn.Linear(d // 4, d)
        self.att1, self.att2 = nn.Linear(d, d // 2), nn.Linear(d // 2, 1)
        self.drop = nn.Dropout(dropout)
        self.cls = nn.Linear(d, 1)

    def forward(self, x):
        t = x.shape[1]
        x = self.drop(x + self.pos[:t])
        x = self.final_norm(self.encoder(x))
        gate = torch.sigmoid(self.se2(F.relu(self.se1(x.mean(1)))))
        x = x * gate[:, None, :]
        w = torch.softmax(self.att2(torch.tanh(self.att1(x))).squeeze(-1), dim=1)
        pooled = (x * w[..., None]).sum(1)
        return self.cls(self.drop(pooled)).squeeze(-1)


class Teacher(nn.Module):
    def __init__(self, d=96, layers=2, heads=4, max_len=1024):
        super().__init__()
        self.embed, self.norm = nn.Linear(96, d), nn.LayerNorm(d)
        self.trunk = Trunk(d, layers, heads, max_len, 0.3)

    def forward(self, x):
        return self.trunk(F.silu(self.norm(self.embed(x))))


class Student(nn.Module):
    """EventTokenResampler (timestamps mode, locality bias) + trunk over L tokens."""

    def __init__(self, d=48, tokens=64, heads=4, layers=2):
        super().__init__()
        self.h, self.l = heads, tokens
        self.ev, self.ev_norm = nn.Linear(6 + 3, d), nn.LayerNorm(d)
        self.q1, self.q2 = nn.Linear(1, d), nn.Linear(d, d)
        self.q_bias = nn.Parameter(torch.randn(tokens, d) * 0.02)
        self.register_buffer("anchor", torch.linspace(0, 1, tokens)[:, None])
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(d, d) for _ in range(4))
        self.out_norm = nn.LayerNorm(d)
        self.log_c = nn.Parameter(torch.tensor([math.log(1 / (2 * ((2 ** h) / tokens) ** 2)) for h in range(heads)]))
        self.trunk = Trunk(d, layers, heads, tokens, 0.1)

    def forward(self, ev, ts, mask):
        b, n, _ = ev.shape
        d = self.q_bias.shape[1]
        dk = d // self.h
        ev = ev * mask[..., None]
        ts = ts * mask
        prev = torch.cat([ts[:, :1], ts[:, :-1]], 1)
        dt = ((ts - prev) * mask).clamp(0, 60)
        t0 = ts.masked_fill(mask < 0.5, float("inf")).min(1, keepdim=True).values
        t1 = ts.masked_fill(mask < 0.5, float("-inf")).max(1, keepdim=True).values
        tau = ((ts - t0) / (t1 - t0).clamp_min(1e-6)).clamp(0, 1) * mask
        feats = torch.stack([dt, torch.log1p(dt), tau], -1)
        e = F.silu(self.ev_norm(self.ev(torch.cat([ev, feats], -1))))
        q = self.q2(F.silu(self.q1(self.anchor))) + self.q_bias
        qh = self.wq(q).view(1, self.l, self.h, dk).transpose(1, 2)
        kh = self.wk(e).view(b, n, self.h, dk).transpose(1, 2)
        vh = self.wv(e).view(b, n, self.h, dk).transpose(1, 2)
        scores = qh @ kh.transpose(-1, -2) / math.sqrt(dk)
        dist = (self.anchor.view(1, 1, self.l, 1) - tau.view(b, 1, 1, n)) ** 2
        scores = scores - dist * self.log_c.exp().view(1, self.h, 1, 1)
        m = mask.view(b, 1, 1, n)
        w = torch.softmax(scores.masked_fill(m < 0.5, -1e9), -1) * m
        w = w / w.sum(-1, keepdim=True).clamp_min(1e-12)
        ctx = (w @ vh).transpose(1, 2).reshape(b, self.l, d)
        tokens = self.out_norm(q.expand(b, -1, -1) + self.wo(ctx))
        return self.trunk(tokens)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["teacher", "student"], required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    model = (Teacher() if a.model == "teacher" else Student()).to(dev)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    y = (torch.rand(a.batch, device=dev) < 0.4).float()

    def batch(b):
        if a.model == "teacher":
            return (torch.randn(b, 120, 96, device=dev),)
        ev = torch.randn(b, 160, 6, device=dev)
        ts = torch.rand(b, 160, device=dev).mul(0.05).cumsum(1)
        return ev, ts, torch.ones(b, 160, device=dev)

    x = batch(a.batch)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.binary_cross_entropy_with_logits(model(*x), y)
        loss.backward()
        opt.step()

    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    for _ in range(3):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    sync()
    train_sps = a.steps / (time.perf_counter() - t0)
    model.eval()
    x1 = batch(1)
    with torch.no_grad():
        for _ in range(5):
            model(*x1)
        sync()
        t0 = time.perf_counter()
        reps = 50
        for _ in range(reps):
            model(*x1)
        sync()
        ms = (time.perf_counter() - t0) * 1000 / reps
    print(json.dumps({"impl": "pytorch " + torch.__version__, "model": a.model, "params": params, "threads": a.threads,
                      "batch": a.batch, "train_steps_per_s": train_sps, "infer_ms_b1": ms}))


if __name__ == "__main__":
    main()
