// Measures a running `layerroute serve` (see bench/serve_bench.sh): for each concurrency c,
// c streams of /v1/completions at once, each generating exactly `tokens` tokens (greedy,
// a stop id ends a stream early and is reported). Prints one JSON line per concurrency:
// aggregate generated tok/s, mean time to first token, aggregate decode tok/s (tokens after
// the first over the time after each stream's first token), and the routing the server
// reported.
//   node serve_bench.mjs URL TOKENS C1,C2,...
const [url, tokensArg, levelsArg] = process.argv.slice(2);
const tokens = Number(tokensArg || 32);
const levels = (levelsArg || '1,4,8').split(',').map(Number);

async function stream(i) {
  const t0 = performance.now();
  const r = await fetch(url + '/v1/completions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: `Benchmark stream ${i}: the history of computing began`,
      max_tokens: tokens, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '', first = null, usage = null, lr = null;
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
      if (first === null && j.choices.length) first = performance.now();
      if (j.usage) { usage = j.usage; lr = j.layerroute; }
    }
  }
  return { t0, first, end: performance.now(), n: usage.completion_tokens, lr };
}

for (const c of levels) {
  await stream(-1);  // warm-up
  const t0 = performance.now();
  const res = await Promise.all(Array.from({ length: c }, (_, i) => stream(i)));
  const wall = (performance.now() - t0) / 1000;
  const n = res.reduce((a, r) => a + r.n, 0);
  const ttft = res.reduce((a, r) => a + (r.first - r.t0), 0) / c / 1000;
  const decodeSpan = (Math.max(...res.map((r) => r.end)) - Math.min(...res.map((r) => r.first))) / 1000;
  console.log(JSON.stringify({
    concurrency: c, tokens: n, short_streams: res.filter((r) => r.n < tokens).length,
    aggregate_tok_s: n / wall, ttft_s: ttft, decode_tok_s: (n - c) / decodeSpan,
    blocks_run: res[0].lr.blocks_run, blocks: res[0].lr.blocks,
    predicted_saving_pct: res[0].lr.predicted_saving_pct,
  }));
}
