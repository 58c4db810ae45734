// Drives nginx in front of `layerroute serve` replicas (see bench/serve_replicas.sh): N
// concurrent clients, each a two-turn conversation pinned to one replica by its
// X-Session-Id header, each answer compared with the same conversation run against one
// server directly. Prints a summary; exits 1 on any mismatch.
//   node serve_replicas.mjs BALANCER_URL SINGLE_URL CLIENTS
import OpenAI from '../tests/js/node_modules/openai/index.mjs';

const [balancer, single, clientsArg] = process.argv.slice(2);
const clients = Number(clientsArg || 8);

async function conversation(baseURL, i) {
  const client = new OpenAI({ baseURL: baseURL + '/v1', apiKey: 'none', maxRetries: 0,
    defaultHeaders: { 'X-Session-Id': 'conv-' + i } });
  const messages = [{ role: 'user', content: `Conversation ${i}: say something about ${i * 13}.` }];
  const ask = async () => {
    const r = await client.chat.completions.create({ model: 'm', messages, max_tokens: 16,
      temperature: 1, seed: 1000 + i });
    return { text: r.choices[0].message.content, cached: r.usage.prompt_tokens_details.cached_tokens };
  };
  const a = await ask();
  messages.push({ role: 'assistant', content: a.text }, { role: 'user', content: 'And then?' });
  const b = await ask();
  return { answers: [a.text, b.text], cached: b.cached };
}

const want = [];
for (let i = 0; i < clients; ++i) want.push(await conversation(single, i));
const t0 = Date.now();
const got = await Promise.all(Array.from({ length: clients }, (_, i) => conversation(balancer, i)));
const secs = (Date.now() - t0) / 1000;
let bad = 0, reused = 0;
got.forEach((g, i) => {
  if (JSON.stringify(g.answers) !== JSON.stringify(want[i].answers)) {
    bad++;
    console.error(`conversation ${i}: ${JSON.stringify(g.answers)} != ${JSON.stringify(want[i].answers)}`);
  }
  if (g.cached > 0) reused++;
});
console.log(`${clients} conversations through the balancer in ${secs.toFixed(2)} s: ` +
            `${clients - bad} match the single-server run, ${bad} differ; ` +
            `${reused} second turns reused their replica's KV cache`);
process.exit(bad === 0 ? 0 : 1);
