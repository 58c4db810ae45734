#!/usr/bin/env python3
"""PyTorch peer for `layerroute bench`: the same Qwen2/Llama forward (RMSNorm, GQA attention
with rotate-half RoPE, SwiGLU, tied or separate LM head) with a KV cache, in fp32, on the
same model.safetensors. Measures prefill 128/512 tokens and decoding of 128 tokens after a
512-token prompt at a given thread count, like `layerroute bench` (LM head on the last
prompt position only, greedy next token, seeded random prompt ids).

Run with OMP_WAIT_POLICY=PASSIVE (Debian's torch keeps an OpenMP pool beside OpenBLAS's
threads; without it they spin against each other on 2 cores). Needs python3-torch (1.13)
and numpy; the safetensors file is read with struct + numpy (no `safetensors` package).
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch


def load_safetensors(path):
    """name -> float32 numpy array (bf16/f16/f32 in the file)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        raw = mm[base + b : base + e]
        if t["dtype"] == "BF16":
            a = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif t["dtype"] == "F16":
            a = raw.view(np.float16).astype(np.float32)
        elif t["dtype"] == "F32":
            a = np.array(raw.view(np.float32))
        else:
            raise ValueError(f"{path}: {name}: dtype {t['dtype']} unsupported")
        out[name] = a.reshape(t["shape"])
    return out


def load_model(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    st = os.path.join(d, "model.safetensors")
    if os.path.exists(st):
        raw = load_safetensors(st)
    else:  # sharded
        idx = json.load(open(os.path.join(d, "model.safetensors.index.json")))
        raw = {}
        for shard in sorted(set(idx["weight_map"].values())):
            raw.update(load_safetensors(os.path.join(d, shard)))
    w = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in raw.items()}
    return cfg, w


class Qwen2:
    def __init__(self, cfg, w, max_T):
        self.H = cfg["hidden_size"]
        self.L = cfg["num_hidden_layers"]
        self.nq = cfg["num_attention_heads"]
        self.nkv = cfg.get("num_key_value_heads", self.nq)
        self.d = cfg.get("head_dim", self.H // self.nq)
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        theta = cfg.get("rope_theta", 10000.0)
        self.w = w
        self.embed = w["model.embed_tokens.weight"]
        self.head = w.get("lm_head.weight", self.embed) if not cfg.get("tie_word_embeddings", True) else self.embed
        inv = 1.0 / (theta ** (torch.arange(0, self.d, 2, dtype=torch.float64) / self.d))
        ang = torch.outer(torch.arange(max_T, dtype=torch.float64), inv)
        self.cos = torch.cat([ang.cos(), ang.cos()], -1).float()
        self.sin = torch.cat([ang.sin(), ang.sin()], -1).float()
        self.kc = torch.zeros(self.L, max_T, self.nkv, self.d)
        self.vc = torch.zeros(self.L, max_T, self.nkv, self.d)
        self.len = 0

    def rms(self, x, wt):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * wt

    def rope(self, x, p0):  # x [T, heads, d]
        T = x.shape[0]
        c = self.cos[p0 : p0 + T, None, :]
        s = self.sin[p0 : p0 + T, None, :]
        h = self.d // 2
        rot = torch.cat([-x[..., h:], x[..., :h]], -1)
        return x * c + rot * s

    def lin(self, x, name, bias=False):
        b = self.w.get(name + ".bias") if bias else None
        return torch.nn.functional.linear(x, self.w[name + ".weight"], b)

    def forward(self, ids):
        """Appends ids to the cache; logits of the last position."""
        T, p0 = len(ids), self.len
        h = self.embed[torch.tensor(ids)]
        group = self.nq // self.nkv
        mask = torch.full((T, p0 + T), float("-inf")).triu(p0 + 1) if T > 1 else None
        for l in range(self.L):
            p = f"model.layers.{l}."
            a = self.rms(h, self.w[p + "input_layernorm.weight"])
            q = self.lin(a, p + "self_attn.q_proj", True).view(T, self.nq, self.d)
            k = self.lin(a, p + "self_attn.k_proj", True).view(T, self.nkv, self.d)
            v = self.lin(a, p + "self_attn.v_proj", True).view(T, self.nkv, self.d)
            q, k = self.rope(q, p0), self.rope(k, p0)
            self.kc[l, p0 : p0 + T] = k
            self.vc[l, p0 : p0 + T] = v
            K = self.kc[l, : p0 + T].repeat_interleave(group, 1).transpose(0, 1)  # [nq, S, d]
            V = self.vc[l, : p0 + T].repeat_interleave(group, 1).transpose(0, 1)
            s = torch.matmul(q.transpose(0, 1), K.transpose(1, 2)) / math.sqrt(self.d)
            if mask is not None:
                s = s + mask
            o = torch.matmul(torch.softmax(s, -1), V).transpose(0, 1).reshape(T, self.nq * self.d)
            h = h + self.lin(o, p + "self_attn.o_proj")
            m = self.rms(h, self.w[p + "post_attention_layernorm.weight"])
            g = torch.nn.functional.silu(self.lin(m, p + "mlp.gate_proj")) * self.lin(m, p + "mlp.up_proj")
            h = h + self.lin(g, p + "mlp.down_proj")
        self.len += T
        last = self.rms(h[-1:], self.w["model.norm.weight"])
        return torch.nn.functional.linear(last, self.head)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--decode-tokens", type=int, default=128)
    ap.add_argument("--decode-prompt", type=int, default=512)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    t = time.perf_counter()
    cfg, w = load_model(a.model)
    load_s = time.perf_counter() - t
    V = cfg["vocab_size"]
    max_T = max(512, a.decode_prompt + a.decode_tokens + 1)
    m = Qwen2(cfg, w, max_T)
    rng = np.random.default_rng(1234)
    out = {"threads": a.threads, "torch": torch.__version__, "load_s": load_s,
           "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "")}
    for n in (128, 512):
        ids = rng.integers(0, V, n).tolist()
        best = 1e30
        for _ in range(a.reps):
            m.len = 0
            t = time.perf_counter()
            m.forward(ids)
            best = min(best, time.perf_counter() - t)
        out[f"prefill_{n}_tok_s"] = n / best
        print(f"prefill {n} tokens: {n / best:.2f} tok/s", flush=True)
    m.len = 0
    logits = m.forward(rng.integers(0, V, a.decode_prompt).tolist())
    nxt = int(torch.argmax(logits))
    t = time.perf_counter()
    for _ in range(a.decode_tokens):
        nxt = int(torch.argmax(m.forward([nxt])))
    dec = a.decode_tokens / (time.perf_counter() - t)
    out["decode_tok_s"] = dec
    out["decode_after_prompt"] = a.decode_prompt
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                out["peak_rss_bytes"] = int(line.split()[1]) * 1024
    print(f"decode {a.decode_tokens} tokens after a {a.decode_prompt}-token prompt: {dec:.2f} tok/s")
    print(f"peak RSS: {out.get('peak_rss_bytes', 0) >> 20} MiB")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
