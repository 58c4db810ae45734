#!/usr/bin/python3
"""PyTorch peer for `layerroute bench-train`: the same LayerRoute training step in eager fp32.

Qwen2 block maths (RMSNorm, q/k/v with bias, RoPE rotate-half, GQA causal attention, SwiGLU)
with frozen base weights read from the same model.safetensors, LoRA r8 alpha16 dropout 0.05 on
q/k/v/o, one Linear(H, 1) router per block on the masked mean of the state entering it, hard
gate with the straight-through estimator, loss = CE + 1.0 * mean soft gate, clip 1.0, AdamW
lr 2e-4 wd 0.01. Prints one JSON object: tokens/s (best and mean step) and peak RSS.
Run it with OMP_WAIT_POLICY=PASSIVE (see MACHINE.md) and the same thread count as ours.
"""
import argparse
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "BF16": np.uint16, "F16": np.float16}


def load_safetensors(path):
    """name -> float32 torch tensor, converting bf16 by widening the bits (no torch bf16 ops)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    base = 8 + n
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        b0, b1 = meta["data_offsets"]
        dt = DTYPES[meta["dtype"]]
        a = np.fromfile(path, dtype=dt, count=(b1 - b0) // np.dtype(dt).itemsize, offset=base + b0)
        if meta["dtype"] == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        out[name] = torch.from_numpy(a.astype(np.float32, copy=False).reshape(meta["shape"]))
    return out


def rmsnorm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Lora(torch.nn.Module):
    """PEFT LoRA branch: scale * B(A(dropout(x))), A kaiming-uniform(a=sqrt 5), B zeros."""

    def __init__(self, fin, fout, r=8, alpha=16.0, p=0.05):
        super().__init__()
        self.A = torch.nn.Parameter(torch.empty(r, fin))
        torch.nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.B = torch.nn.Parameter(torch.zeros(fout, r))
        self.scale, self.p = alpha / r, p

    def forward(self, x):
        return F.linear(F.linear(F.dropout(x, self.p, self.training), self.A), self.B) * self.scale


class Peer(torch.nn.Module):
    def __init__(self, cfg, W, all_open):
        super().__init__()
        self.cfg, self.W = cfg, W
        H, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.H, self.nh, self.nkv, self.hd = H, nh, nkv, H // nh
        self.L = cfg["num_hidden_layers"]
        self.eps = cfg["rms_norm_eps"]
        Q, K = nh * self.hd, nkv * self.hd
        self.lora = torch.nn.ModuleList()
        for _ in range(self.L):
            self.lora.append(torch.nn.ModuleDict(
                {"q": Lora(H, Q), "k": Lora(H, K), "v": Lora(H, K), "o": Lora(Q, H)}))
        self.routers = torch.nn.ModuleList([torch.nn.Linear(H, 1) for _ in range(self.L)])
        lo, hi = round(8 * self.L / 24), round(16 * self.L / 24)
        with torch.no_grad():
            for l, r in enumerate(self.routers):
                r.weight.zero_()
                r.bias.fill_(1.0 if all_open or not (lo <= l <= hi) else -1.0)
        self.head = W.get("lm_head.weight", W["model.embed_tokens.weight"])

    def rope(self, T):
        theta = self.cfg.get("rope_theta", 10000.0)
        inv = 1.0 / (theta ** (torch.arange(0, self.hd, 2, dtype=torch.int64).float() / self.hd))
        freqs = torch.outer(torch.arange(T).float(), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()

    def block(self, l, h, cos, sin, causal):
        W, p, lo = self.W, f"model.layers.{l}.", self.lora[l]
        R, T, _ = h.shape
        a = rmsnorm(h, W[p + "input_layernorm.weight"], self.eps)

        def proj(name, key, x):
            b = W.get(p + f"self_attn.{name}_proj.bias")
            return F.linear(x, W[p + f"self_attn.{name}_proj.weight"], b) + lo[key](x)

        q = proj("q", "q", a).view(R, T, self.nh, self.hd).transpose(1, 2)
        k = proj("k", "k", a).view(R, T, self.nkv, self.hd).transpose(1, 2)
        v = proj("v", "v", a).view(R, T, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.nh // self.nkv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        s = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd) + causal
        o = torch.matmul(torch.softmax(s, dim=-1), v).transpose(1, 2).reshape(R, T, -1)
        h1 = h + F.linear(o, W[p + "self_attn.o_proj.weight"]) + lo["o"](o)
        m = rmsnorm(h1, W[p + "post_attention_layernorm.weight"], self.eps)
        act = F.silu(F.linear(m, W[p + "mlp.gate_proj.weight"])) * F.linear(m, W[p + "mlp.up_proj.weight"])
        return h1 + F.linear(act, W[p + "mlp.down_proj.weight"])

    def forward(self, ids, mask):
        R, T = ids.shape
        h = F.embedding(ids, self.W["model.embed_tokens.weight"])
        cos, sin = self.rope(T)
        causal = torch.full((T, T), float("-inf")).triu(1)
        mf = mask.float().unsqueeze(-1)
        softs = []
        for l in range(self.L):
            pool = (h * mf).sum(1) / mf.sum(1).clamp(min=1)  # masked mean over real tokens
            soft = torch.sigmoid(self.routers[l](pool)).squeeze(-1)
            g = ((soft > 0.5).float() + soft - soft.detach()).view(R, 1, 1)  # straight-through
            softs.append(soft.mean())
            h = g * self.block(l, h, cos, sin, causal) + (1 - g) * h
        hf = rmsnorm(h, self.W["model.norm.weight"], self.eps)
        logits = F.linear(hf[:, :-1], self.head)  # every position but the last predicts
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        return ce + 1.0 * torch.stack(softs).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--rows", type=int, default=1)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--all-open", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = json.load(open(os.path.join(args.model, "config.json")))
    t0 = time.time()
    W = load_safetensors(os.path.join(args.model, "model.safetensors"))
    load_s = time.time() - t0
    model = Peer(cfg, W, args.all_open).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    gen = torch.Generator().manual_seed(2)
    ids = torch.randint(0, cfg["vocab_size"], (args.rows, args.seq), generator=gen)
    mask = torch.ones_like(ids)
    times, losses = [], []
    for step in range(args.steps + 1):
        t = time.time()
        opt.zero_grad(set_to_none=True)
        loss = model(ids, mask)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        dt = time.time() - t
        losses.append(float(loss))
        if step > 0:  # the first step warms up allocators and thread pools
            times.append(dt)
    tokens = args.rows * args.seq
    print(json.dumps({
        "impl": "pytorch-eager-fp32", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "rows": args.rows, "seq": args.seq, "steps": args.steps, "all_open": args.all_open,
        "load_s": load_s, "best_step_s": min(times), "mean_step_s": sum(times) / len(times),
        "tok_s": tokens / min(times), "tok_s_mean": tokens * len(times) / sum(times),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "loss_first": losses[0], "loss_last": losses[-1],
        "trainable_params": sum(p.numel() for p in params),
    }))


if __name__ == "__main__":
    sys.exit(main())
