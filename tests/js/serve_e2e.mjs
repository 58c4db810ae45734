// Drives `layerroute serve` with the official OpenAI Node client (pinned in package-lock.json).
// Started by tests/test_cli_serve.cpp, which runs the server and writes the expectations
// (what `layerroute generate` prints for the same prompts). Every loop is bounded; the first
// failed check exits 1 with a message.
//   node serve_e2e.mjs main      LR_BASE LR_KEY LR_EXPECT LR_SERVER_PID
//   node serve_e2e.mjs overload  LR_BASE
//   node serve_e2e.mjs tools     LR_BASE LR_EXPECT   (a model that writes tool calls)
import fs from 'node:fs';
import OpenAI from 'openai';

const base = process.env.LR_BASE;  // http://127.0.0.1:PORT
const key = process.env.LR_KEY || 'none';
const client = new OpenAI({ baseURL: base + '/v1', apiKey: key, maxRetries: 0, timeout: 60000 });
let checks = 0;

function check(cond, what, detail) {
  checks++;
  if (!cond) {
    console.error('FAIL: ' + what + (detail === undefined ? '' : ': ' + JSON.stringify(detail)));
    process.exit(1);
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function raw(path, body, headers = {}) {
  const r = await fetch(base + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + key, ...headers },
    body: typeof body === 'string' || body === undefined ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, text, json };
}

function checkRoute(lr, blocks, what) {
  check(lr && lr.blocks === blocks, what + ': layerroute.blocks', lr);
  check(Number.isInteger(lr.blocks_run) && lr.blocks_run >= 0 && lr.blocks_run <= blocks,
        what + ': layerroute.blocks_run', lr);
  check(typeof lr.gates === 'string' && lr.gates.length === blocks &&
        [...lr.gates].filter((c) => c === '1').length === lr.blocks_run, what + ': gates', lr);
  check(Math.abs(lr.skip_pct - 100 * (1 - lr.blocks_run / blocks)) < 1e-6, what + ': skip_pct', lr);
  check(lr.predicted_saving_pct >= 0 && lr.predicted_saving_pct <= lr.skip_pct + 1e-9,
        what + ': predicted_saving_pct', lr);
}

function checkError(r, status, param, what) {
  check(r.status === status, what + ': status ' + status, { status: r.status, body: r.text });
  check(r.json && r.json.error && typeof r.json.error.message === 'string' &&
        'type' in r.json.error && 'param' in r.json.error && 'code' in r.json.error,
        what + ': OpenAI error object', r.text);
  if (param !== undefined) check(r.json.error.param === param, what + ': param', r.json.error);
}

async function streamChat(params, signal) {
  const stream = await client.chat.completions.create({ ...params, stream: true }, { signal });
  const out = { content: '', chunks: [], finish: null, usage: null, layerroute: null, role: null };
  for await (const c of stream) {
    out.chunks.push(c);
    if (c.usage) out.usage = c.usage;
    if (c.layerroute && c.choices.length) out.layerroute = c.layerroute;
    for (const ch of c.choices) {
      if (ch.delta.role) out.role = ch.delta.role;
      if (ch.delta.content) out.content += ch.delta.content;
      if (ch.finish_reason) out.finish = ch.finish_reason;
    }
  }
  return out;
}

async function main() {
  const exp = JSON.parse(fs.readFileSync(process.env.LR_EXPECT, 'utf8'));
  const L = exp.blocks;

  // Health answers without the key; everything else needs it.
  let r = await fetch(base + '/health');
  check(r.status === 200, '/health 200 when ready', r.status);
  checkError(await raw('/v1/models', undefined, { Authorization: 'Bearer wrong' }), 401, undefined,
             'wrong key');
  r = await fetch(base + '/v1/models');
  check(r.status === 401, 'missing key is 401', r.status);
  const models = await client.models.list();
  check(models.data.length === 1 && models.data[0].id === exp.model, 'models list', models.data);

  // Non-streaming chat equals `layerroute generate` (routers decide the gates).
  const msgs = exp.messages;
  const c1 = await client.chat.completions.create(
      { model: exp.model, messages: msgs, max_tokens: exp.n, temperature: 0 });
  check(c1.id.startsWith('chatcmpl-') && c1.object === 'chat.completion', 'chat shape', c1);
  check(typeof c1.created === 'number' && c1.model === exp.model, 'created/model', c1);
  check(c1.choices.length === 1 && c1.choices[0].message.role === 'assistant', 'choice', c1);
  check(c1.choices[0].message.content === exp.generate_router, 'greedy chat equals generate',
        { got: c1.choices[0].message.content, want: exp.generate_router });
  check(['stop', 'length'].includes(c1.choices[0].finish_reason), 'finish_reason', c1.choices[0]);
  check(c1.usage.prompt_tokens === exp.prompt_tokens, 'usage.prompt_tokens', c1.usage);
  check(c1.usage.total_tokens === c1.usage.prompt_tokens + c1.usage.completion_tokens, 'usage sum',
        c1.usage);
  checkRoute(c1.layerroute, L, 'chat');
  check(c1.layerroute.gates === exp.router_gates, 'router gates as generate reports',
        { got: c1.layerroute.gates, want: exp.router_gates });

  // The per-request override, against generate --gates mask:...
  const c2 = await client.chat.completions.create({ model: exp.model, messages: msgs,
    max_tokens: exp.n, temperature: 0, layerroute: { gates: 'mask:' + exp.mask } });
  check(c2.choices[0].message.content === exp.generate_mask, 'mask override equals generate',
        { got: c2.choices[0].message.content, want: exp.generate_mask });
  check(c2.layerroute.gates === exp.mask, 'mask gates reported', c2.layerroute);

  // Streaming: the same text, role first, finish + layerroute on the last choice chunk,
  // usage chunk last.
  const s1 = await streamChat({ model: exp.model, messages: msgs, max_tokens: exp.n,
    temperature: 0, stream_options: { include_usage: true } });
  check(s1.role === 'assistant', 'stream role', s1.chunks[0]);
  check(s1.content === exp.generate_router, 'stream text equals generate',
        { got: s1.content, want: exp.generate_router });
  check(s1.finish === c1.choices[0].finish_reason, 'stream finish_reason', s1.finish);
  check(s1.usage && s1.usage.completion_tokens === c1.usage.completion_tokens, 'stream usage',
        s1.usage);
  check(s1.chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === s1.chunks[0].id),
        'chunk ids and object');
  checkRoute(s1.layerroute, L, 'stream');
  const tail = s1.chunks[s1.chunks.length - 1];
  check(tail.choices.length === 0 && tail.usage, 'usage chunk last', tail);

  // Raw SSE ends with data: [DONE].
  const sse = await raw('/v1/chat/completions',
                        { messages: msgs, max_tokens: 3, temperature: 0, stream: true });
  check(sse.status === 200 && sse.text.trimEnd().endsWith('data: [DONE]'), 'SSE [DONE]', sse.text);

  // Completions.
  const t1 = await client.completions.create(
      { model: exp.model, prompt: exp.prompt, max_tokens: exp.n, temperature: 0 });
  check(t1.object === 'text_completion' && t1.id.startsWith('cmpl-'), 'completion shape', t1);
  check(t1.choices[0].text === exp.generate_prompt, 'completion equals generate',
        { got: t1.choices[0].text, want: exp.generate_prompt });
  checkRoute(t1.layerroute, L, 'completion');
  let streamed = '';
  for await (const c of await client.completions.create(
      { model: exp.model, prompt: exp.prompt, max_tokens: exp.n, temperature: 0, stream: true }))
    for (const ch of c.choices) streamed += ch.text;
  check(streamed === exp.generate_prompt, 'streamed completion equals generate', streamed);

  // A stop string cuts the reply before it.
  if (c1.choices[0].message.content.length > 4) {
    const cut = c1.choices[0].message.content.slice(2, 4);
    const c3 = await client.chat.completions.create({ model: exp.model, messages: msgs,
      max_tokens: exp.n, temperature: 0, stop: [cut] });
    const want = c1.choices[0].message.content.slice(0, c1.choices[0].message.content.indexOf(cut));
    check(c3.choices[0].message.content === want && c3.choices[0].finish_reason === 'stop',
          'stop string', { got: c3.choices[0].message.content, want });
  }

  // A tool round trip in the request: assistant tool_calls + tool result render and run;
  // the second turn reuses the slot's cache when it extends the first.
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const turn1 = [{ role: 'user', content: 'Weather in Paris?' }];
  const a1 = await client.chat.completions.create(
      { model: exp.model, messages: turn1, tools, max_tokens: 4, temperature: 0 });
  check(a1.choices[0].message.role === 'assistant', 'tools turn 1', a1);
  const turn2 = [...turn1,
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function',
      function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '{"temp_c": 21}' }];
  const a2 = await client.chat.completions.create(
      { model: exp.model, messages: turn2, tools, max_tokens: 4, temperature: 0 });
  check(a2.choices.length === 1 && a2.usage.prompt_tokens > a1.usage.prompt_tokens, 'tools turn 2',
        a2.usage);
  // tool_choice naming a function: the call prefix is forced; a random model cannot finish
  // the JSON, so the block comes back as content and /metrics counts it.
  const a3 = await client.chat.completions.create({ model: exp.model, messages: turn1, tools,
    max_tokens: 4, temperature: 0, tool_choice: { type: 'function', function: { name: 'get_weather' } } });
  check(a3.choices[0].message.content !== null &&
        a3.choices[0].message.content.startsWith('<tool_call>'), 'forced call prefix', a3.choices[0]);

  // KV reuse: a prompt that extends a slot's cached tokens prefills only the new ones. One
  // token of reply leaves the slot caching exactly the first prompt (the sampled token is
  // not fed); raw completions make the token prefix certain (a chat turn's re-rendered
  // reply may tokenize differently from the ids the model produced: then the slot is
  // rightly started over).
  const k1 = await client.completions.create(
      { model: exp.model, prompt: 'One two three four', max_tokens: 1, temperature: 0 });
  const k2 = await client.completions.create(
      { model: exp.model, prompt: 'One two three four five six', max_tokens: 2, temperature: 0 });
  check(k2.usage.prompt_tokens_details.cached_tokens === k1.usage.prompt_tokens &&
        k2.usage.prompt_tokens > k1.usage.prompt_tokens,
        'the extending request prefills only its new tokens', { k1: k1.usage, k2: k2.usage });
  checkRoute(k2.layerroute, L, 'reused step');
  const conv = [{ role: 'user', content: 'Count with me.' }];
  const m1 = await client.chat.completions.create(
      { model: exp.model, messages: conv, max_tokens: 1, temperature: 0 });
  conv.push({ role: 'assistant', content: m1.choices[0].message.content },
            { role: 'user', content: 'Go on.' });
  const m2 = await client.chat.completions.create(
      { model: exp.model, messages: conv, max_tokens: 6, temperature: 0 });
  check(Number.isInteger(m2.usage.prompt_tokens_details.cached_tokens), 'cached_tokens', m2.usage);

  // Bad inputs: OpenAI error objects, the server unaffected.
  checkError(await raw('/v1/chat/completions', '{"messages": [', {}), 400, null, 'malformed JSON');
  checkError(await raw('/v1/chat/completions', { messages: 'hi' }), 400, 'messages', 'wrong type');
  checkError(await raw('/v1/chat/completions', { messages: [] }), 400, 'messages', 'empty messages');
  checkError(await raw('/v1/chat/completions', { messages: [{ role: 'wizard', content: 'x' }] }),
             400, 'messages[0].role', 'unknown role');
  checkError(await raw('/v1/chat/completions', { messages: [{ role: 'user', content: 'x' },
    { role: 'tool', tool_call_id: 'c', content: 'r' }] }), 400, 'messages[1]', 'tool without call');
  checkError(await raw('/v1/chat/completions', { messages: msgs, n: 2 }), 400, 'n', 'n = 2');
  const long = await raw('/v1/chat/completions',
                         { messages: [{ role: 'user', content: 'word '.repeat(exp.ctx) }] });
  checkError(long, 400, 'messages', 'prompt over --ctx');
  check(long.json.error.code === 'context_length_exceeded', 'context_length_exceeded', long.json);
  checkError(await raw('/v1/chat/completions', { messages: msgs, pad: 'x'.repeat(exp.max_body) }),
             413, undefined, 'body over the limit');
  checkError(await raw('/v1/nothing', {}), 404, undefined, 'unknown route');
  try {
    await client.chat.completions.create({ model: exp.model, messages: [] });
    check(false, 'client sees 400');
  } catch (e) {
    check(e instanceof OpenAI.BadRequestError && e.status === 400, 'client BadRequestError', e.message);
  }

  // 16 concurrent clients, 2 requests each: every reply equals its single-client run. Seeded
  // sampling (one seed per client) makes the replies differ between clients, so a reply
  // handed to the wrong client would show.
  const prompts = Array.from({ length: 16 }, (_, i) => [{ role: 'user', content: `Client ${i}: tell me about the number ${i * 7}.` }]);
  const single = [];
  for (const p of prompts) {
    const c = await client.chat.completions.create({ model: exp.model, messages: p, max_tokens: 8, temperature: 1, seed: 100 + single.length });
    single.push(c.choices[0].message.content);
  }
  check(new Set(single).size > 8, 'clients get different replies', single);
  await Promise.all(prompts.map(async (p, i) => {
    for (let k = 0; k < 2; ++k) {
      let text;
      if (k === 0) {
        const c = await client.chat.completions.create({ model: exp.model, messages: p, max_tokens: 8, temperature: 1, seed: 100 + i });
        check(c.choices[0].finish_reason !== null, 'complete response ' + i);
        text = c.choices[0].message.content;
      } else {
        text = (await streamChat({ model: exp.model, messages: p, max_tokens: 8, temperature: 1, seed: 100 + i })).content;
      }
      check(text === single[i], `client ${i} round ${k} equals its single-client run`,
            { got: text, want: single[i] });
    }
  }));

  // Chunked prefill: a long prompt (prefilled over several engine iterations) while a
  // short stream runs; both equal `layerroute generate`.
  const shortStream = await client.completions.create(
      { model: exp.model, prompt: exp.prompt, max_tokens: exp.n, temperature: 0, stream: true });
  let shortText = '', longReq = null;
  for await (const c of shortStream) {
    for (const ch of c.choices) shortText += ch.text;
    if (!longReq)
      longReq = client.completions.create(
          { model: exp.model, prompt: exp.long_prompt, max_tokens: exp.n, temperature: 0 });
  }
  const longRes = await longReq;
  check(shortText === exp.generate_prompt, 'short stream beside a long prefill equals generate',
        { got: shortText, want: exp.generate_prompt });
  check(longRes.choices[0].text === exp.generate_long, 'long prompt equals generate',
        { got: longRes.choices[0].text, want: exp.generate_long });
  check(longRes.usage.prompt_tokens === exp.long_prompt_tokens, 'long prompt tokens',
        longRes.usage);

  // A client that disconnects mid-stream frees its slot.
  const ac = new AbortController();
  let got = 0;
  try {
    const st = await client.chat.completions.create({ model: exp.model, messages: msgs,
      max_tokens: 400, temperature: 0, stream: true }, { signal: ac.signal });
    for await (const c of st) { if (++got === 3) ac.abort(); }
  } catch (e) { /* the abort */ }
  check(got >= 3, 'stream started before the disconnect', got);
  let active = -1;
  for (let i = 0; i < 100; ++i) {
    const m = await raw('/metrics');
    active = Number(/^layerroute_active_sequences (\d+)/m.exec(m.text)[1]);
    if (active === 0) break;
    await sleep(50);
  }
  check(active === 0, 'slot freed after disconnect', active);
  const after = await client.chat.completions.create(
      { model: exp.model, messages: msgs, max_tokens: exp.n, temperature: 0 });
  check(after.choices[0].message.content === exp.generate_router, 'server fine after disconnect');

  const met = (await raw('/metrics')).text;
  for (const name of ['layerroute_requests_total{endpoint="/v1/chat/completions",status="200"}',
    'layerroute_requests_total{endpoint="/v1/chat/completions",status="400"}',
    'layerroute_generated_tokens_total', 'layerroute_block_open_ratio{block="0"}',
    'layerroute_decode_tokens_per_second', 'layerroute_routing_time_saved_seconds_total'])
    check(met.includes(name), '/metrics has ' + name, met);
  check(Number(/^layerroute_invalid_tool_calls_total (\d+)/m.exec(met)[1]) >= 1,
        'invalid tool-call block counted', met);

  // Graceful shutdown: a long stream in flight, then SIGTERM. The stream ends (finished or
  // cancelled after --shutdown-grace), new connections are refused.
  const ac2 = new AbortController();
  const inflight = (async () => {
    let n = 0;
    try {
      const st = await client.chat.completions.create({ model: exp.model, messages: msgs,
        max_tokens: 100000, temperature: 0, stream: true }, { signal: ac2.signal });
      for await (const c of st) { n++; }
      return 'ended';
    } catch (e) { return n > 0 ? 'cancelled' : 'error: ' + e.message; }
  })();
  await sleep(300);
  process.kill(Number(process.env.LR_SERVER_PID), 'SIGTERM');
  await sleep(100);
  let refused = false;
  try { refused = (await fetch(base + '/health')).status === 503; } catch { refused = true; }
  check(refused, 'no new work after SIGTERM (/health 503 or connection refused)');
  const timer = setTimeout(() => ac2.abort(), 20000);
  const how = await inflight;
  clearTimeout(timer);
  check(how === 'ended' || how === 'cancelled', 'in-flight stream ends on SIGTERM', how);
  console.log(`serve_e2e main: ${checks} checks passed`);
}

// --parallel 1 --queue 1: with one stream decoding and one waiting, more get 503 + Retry-After.
async function overload() {
  const ctrls = [];
  const starts = [];
  for (let i = 0; i < 4; ++i) {
    const ac = new AbortController();
    ctrls.push(ac);
    starts.push(fetch(base + '/v1/chat/completions', {
      method: 'POST', signal: ac.signal, headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'go ' + i }], max_tokens: 100000,
        temperature: 0, stream: true }),
    }).then((r) => r).catch(() => null));
    await sleep(50);
  }
  const res = await Promise.all(starts);
  const busy = res.filter((r) => r && r.status === 503);
  check(busy.length >= 1, 'beyond --queue: 503', res.map((r) => r && r.status));
  check(busy.every((r) => r.headers.get('retry-after') === '1'), 'Retry-After on 503');
  const body = await busy[0].json();
  check(body.error && body.error.code === 'overloaded', '503 error object', body);
  for (const ac of ctrls) ac.abort();
  let active = -1;
  for (let i = 0; i < 100; ++i) {
    const m = await (await fetch(base + '/metrics')).text();
    active = Number(/^layerroute_active_sequences (\d+)/m.exec(m)[1]) +
             Number(/^layerroute_queue_depth (\d+)/m.exec(m)[1]);
    if (active === 0) break;
    await sleep(50);
  }
  check(active === 0, 'aborted streams leave', active);
  console.log(`serve_e2e overload: ${checks} checks passed`);
}

// A model whose greedy replies are scripted (tests/scripted_model.h): it calls get_weather
// when the prompt holds no tool result and answers once it does. The server must turn its
// own output into tool_calls; the client sends the result back and gets the answer.
async function tools() {
  const exp = JSON.parse(fs.readFileSync(process.env.LR_EXPECT, 'utf8'));
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const turn1 = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const r1 = await client.chat.completions.create(
      { model: exp.model, messages: turn1, tools, temperature: 0 });
  const m1 = r1.choices[0].message;
  check(r1.choices[0].finish_reason === 'tool_calls', 'finish_reason tool_calls', r1.choices[0]);
  check(m1.content === null, 'no content beside the call', m1);
  check(Array.isArray(m1.tool_calls) && m1.tool_calls.length === 1, 'one tool call', m1);
  const call = m1.tool_calls[0];
  check(/^call_[0-9a-f]{24}$/.test(call.id) && call.type === 'function', 'call id and type', call);
  check(call.function.name === exp.name, 'call name', call);
  check(call.function.arguments === exp.arguments, 'arguments as a JSON string',
        { got: call.function.arguments, want: exp.arguments });
  check(r1.usage.completion_tokens === exp.call_tokens, 'the model wrote the call itself',
        r1.usage);

  // Streaming: the same call as incremental tool_calls deltas; tags never reach content.
  const st = await client.chat.completions.create(
      { model: exp.model, messages: turn1, tools, temperature: 0, stream: true });
  let content = '', finish = null;
  const calls = [];
  for await (const c of st)
    for (const ch of c.choices) {
      if (ch.delta.content) content += ch.delta.content;
      if (ch.finish_reason) finish = ch.finish_reason;
      for (const d of ch.delta.tool_calls || []) {
        if (!calls[d.index]) calls[d.index] = { id: '', name: '', arguments: '' };
        if (d.id) calls[d.index].id = d.id;
        if (d.function && d.function.name) calls[d.index].name += d.function.name;
        if (d.function && d.function.arguments) calls[d.index].arguments += d.function.arguments;
      }
    }
  check(content === '', 'no content deltas while streaming a call', content);
  check(finish === 'tool_calls' && calls.length === 1 && calls[0].name === exp.name &&
        calls[0].arguments === exp.arguments && calls[0].id.startsWith('call_'),
        'streamed call', { finish, calls });

  // The tool result goes back; the model answers from it.
  const turn2 = [...turn1, { role: 'assistant', content: m1.content, tool_calls: m1.tool_calls },
    { role: 'tool', tool_call_id: call.id, content: exp.tool_result }];
  const r2 = await client.chat.completions.create(
      { model: exp.model, messages: turn2, tools, temperature: 0 });
  check(r2.choices[0].finish_reason === 'stop' && !r2.choices[0].message.tool_calls,
        'answer, not a call', r2.choices[0]);
  check(r2.choices[0].message.content === exp.answer, 'answer after the tool result',
        { got: r2.choices[0].message.content, want: exp.answer });

  // tool_choice none: no tools in the prompt and no parsing, so the call is plain text.
  const r3 = await client.chat.completions.create(
      { model: exp.model, messages: turn1, tools, tool_choice: 'none', temperature: 0 });
  check(r3.choices[0].message.content === exp.call_text && !r3.choices[0].message.tool_calls &&
        r3.choices[0].finish_reason === 'stop', 'tool_choice none leaves the text alone',
        r3.choices[0]);
  console.log(`serve_e2e tools: ${checks} checks passed`);
}

const mode = process.argv[2];
(mode === 'overload' ? overload() : mode === 'tools' ? tools() : main()).catch((e) => {
  console.error('FAIL: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
