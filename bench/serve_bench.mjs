// Measures one running `layerroute serve` (see bench/serve_bench.sh), all blocks open vs
// routed, in the same process: a batch is c concurrent streams of /v1/completions (c one
// of the levels), each generating `tokens` tokens (greedy); each round runs every level's
// batch twice, once with every block open and once routed (the per-request override
// `"layerroute": {"gates": ...}`), the order alternating, so both gate settings (and all
// levels) see the same phases of the machine. Prints a Markdown table (or JSON lines with
// --json) with the median over rounds of:
//   decode tok/s   sum over streams of (tokens after the first) / (first to last token time)
//   × 1 stream     decode tok/s over the one-stream batch's of the same round
//   e2e tok/s      all generated tokens / the batch's wall time (prefill included)
//   TTFT ms        median over the batch's streams
//   realised saving  1 - routed decode time / open decode time per token, from the two
//                  batches of one round (median over rounds), against the
//                  `layerroute.predicted_saving_pct` the routed responses report.
//   node serve_bench.mjs URL --routed GATES [--tokens 64] [--levels 1,4,8] [--rounds 5] [--json]
const args = process.argv.slice(2);
const url = args[0];
const opt = { routed: 'router', tokens: 64, levels: '1,4,8', rounds: 5, json: false };
for (let i = 1; i < args.length; ++i) {
  const k = args[i].replace(/^--/, '');
  if (k === 'json') opt.json = true;
  else opt[k] = args[++i];
}
const tokens = Number(opt.tokens);
const levels = String(opt.levels).split(',').map(Number);
const rounds = Number(opt.rounds);

async function stream(i, gates) {
  const t0 = performance.now();
  const r = await fetch(url + '/v1/completions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: `Benchmark stream ${i}: the history of computing began`,
      max_tokens: tokens, temperature: 0, stream: true, stream_options: { include_usage: true },
      layerroute: { gates } }),
  });
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '', first = null, last = null, usage = null, lr = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, k);
      buf = buf.slice(k + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const j = JSON.parse(ev.slice(6));
      // A chunk with text is a token arriving (a token may also decode to no text yet).
      if (j.choices.length && j.choices[0].text) {
        last = performance.now();
        if (first === null) first = last;
      }
      if (j.usage) { usage = j.usage; lr = j.layerroute; }
    }
  }
  return { t0, first, last, end: performance.now(), n: usage.completion_tokens, lr };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function batch(c, gates) {
  const t0 = performance.now();
  const res = await Promise.all(Array.from({ length: c }, (_, i) => stream(i, gates)));
  const wall = (performance.now() - t0) / 1000;
  const n = res.reduce((a, r) => a + r.n, 0);
  // Each stream's decode rate: tokens after its first over the time from its first to its
  // last token (the text of the last chunks may arrive together: the span still covers
  // every decode step after the first token).
  const decode = res.reduce((a, r) => a + (r.n - 1) / ((r.last - r.first) / 1000), 0);
  return {
    e2e: n / wall, decode, ttft: median(res.map((r) => (r.first - r.t0))),
    short: res.filter((r) => r.n < tokens).length, lr: res[0].lr,
  };
}

// Rounds outermost: each round runs every level (open and routed, in alternating order), so
// the levels, too, are measured in the same phases and the scaling over one stream is taken
// within a round.
await batch(1, 'open');  // warm-up
const runs = levels.map(() => ({ open: [], routed: [], saving: [] }));
for (let r = 0; r < rounds; ++r) {
  for (let li = 0; li < levels.length; ++li) {
    const c = levels[li], run = runs[li];
    let o, ro;
    if ((r + li) % 2 === 0) { o = await batch(c, 'open'); ro = await batch(c, opt.routed); }
    else { ro = await batch(c, opt.routed); o = await batch(c, 'open'); }
    run.open.push(o); run.routed.push(ro);
    run.saving.push(100 * (1 - o.decode / ro.decode));  // time per token: 1 / rate
  }
}
const li1 = levels.indexOf(1);
const rows = levels.map((c, li) => {
  const { open, routed, saving } = runs[li];
  const pick = (xs, f) => median(xs.map(f));
  // Decode rate over one stream's in the same round.
  const scale = (g) => li1 < 0 ? null
    : median(runs[li][g].map((x, r) => x.decode / runs[li1][g][r].decode));
  const row = {
    streams: c, tokens, rounds,
    open_decode_tok_s: pick(open, (x) => x.decode), routed_decode_tok_s: pick(routed, (x) => x.decode),
    open_x_one_stream: scale('open'), routed_x_one_stream: scale('routed'),
    open_e2e_tok_s: pick(open, (x) => x.e2e), routed_e2e_tok_s: pick(routed, (x) => x.e2e),
    open_ttft_ms: pick(open, (x) => x.ttft), routed_ttft_ms: pick(routed, (x) => x.ttft),
    blocks_run: routed[0].lr.blocks_run, blocks: routed[0].lr.blocks,
    predicted_saving_pct: routed[0].lr.predicted_saving_pct,
    realised_saving_pct: median(saving), realised_saving_rounds: saving,
    short_streams: [...open, ...routed].reduce((a, x) => a + x.short, 0),
  };
  row.realised_over_predicted = row.realised_saving_pct / row.predicted_saving_pct;
  if (opt.json) console.log(JSON.stringify(row));
  return row;
});

if (!opt.json) {
  const f = (x, d = 1) => x.toFixed(d);
  console.log('| streams | decode tok/s open / routed | × 1 stream (open / routed) | e2e tok/s open / routed | TTFT ms open / routed | blocks run | predicted saving % | realised saving % (rounds) | realised / predicted |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const x = r.open_x_one_stream === null ? '-' : `${f(r.open_x_one_stream, 2)} / ${f(r.routed_x_one_stream, 2)}`;
    console.log(`| ${r.streams} | ${f(r.open_decode_tok_s)} / ${f(r.routed_decode_tok_s)} | ${x} | ` +
      `${f(r.open_e2e_tok_s)} / ${f(r.routed_e2e_tok_s)} | ${f(r.open_ttft_ms, 0)} / ${f(r.routed_ttft_ms, 0)} | ` +
      `${r.blocks_run}/${r.blocks} | ${f(r.predicted_saving_pct)} | ${f(r.realised_saving_pct)} ` +
      `(${r.realised_saving_rounds.map((s) => f(s)).join(', ')}) | ${f(r.realised_over_predicted, 2)} |` +
      (r.short_streams ? ` (${r.short_streams} streams stopped early)` : ''));
  }
}
