// Reference encoder for the tokenizer conformance test: reads JSONL {"text": ...} from
// IN, writes one JSON array of ids per line to OUT, with @lenml/tokenizers (a port of
// transformers.js) and no special tokens added.
// Usage: node encode.mjs TOKENIZER_DIR IN.jsonl OUT.jsonl
import fs from "node:fs";
import path from "node:path";
import { TokenizerLoader } from "@lenml/tokenizers";

const [dir, inPath, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error("usage: node encode.mjs TOKENIZER_DIR IN.jsonl OUT.jsonl");
  process.exit(2);
}
const read = (name) => JSON.parse(fs.readFileSync(path.join(dir, name), "utf8"));
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: read("tokenizer.json"),
  tokenizerConfig: read("tokenizer_config.json"),
});
const lines = fs.readFileSync(inPath, "utf8").split("\n").filter((l) => l.length > 0);
const out = lines.map((l) => {
  const ids = tokenizer.encode(JSON.parse(l).text, { add_special_tokens: false });
  return JSON.stringify(Array.from(ids));
});
fs.writeFileSync(outPath, out.join("\n") + "\n");
