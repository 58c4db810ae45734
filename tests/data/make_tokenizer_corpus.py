#!/usr/bin/env python3
"""Writes tests/data/tokenizer_corpus.jsonl: texts for the tokenizer conformance test.

Deterministic (fixed seed, no external input). Covers code, JSON tool calls, ChatML
markers, many scripts, emoji/ZWJ/flags, combining marks needing NFC, digit and whitespace
runs, mixed-case contractions, URLs, math, markdown and one ~20 KB text. U+FEFF and U+0085
are left out on purpose: the JavaScript peer classes them differently from HF's regex.
Usage: python3 make_tokenizer_corpus.py [OUT]
"""
import json
import os
import random
import sys

rng = random.Random(20240611)

CODE = [
    'def fib(n):\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n',
    '#include <vector>\n\nint main(int argc, char** argv) {\n\tstd::vector<int> v{1, 2, 3};\n\tfor (auto& x : v) x *= 2;\n\treturn v.size() > 2 ? 0 : 1;\n}\n',
    'fn main() {\n    let xs: Vec<u64> = (1..=10).map(|x| x * x).collect();\n    println!("{:?}", xs);\n}\n',
    'const f = async (url) => {\n  const r = await fetch(url, { method: "GET" });\n  return r.ok ? r.json() : null;\n};\n',
    'SELECT u.id, COUNT(*) AS n\nFROM users u JOIN orders o ON o.user_id = u.id\nWHERE o.created_at >= \'2024-01-01\'\nGROUP BY u.id HAVING n > 3;\n',
    'package main\n\nimport "fmt"\n\nfunc main() {\n\tch := make(chan int, 3)\n\tgo func() { ch <- 42 }()\n\tfmt.Println(<-ch)\n}\n',
    '#!/bin/bash\nset -euo pipefail\nfor f in *.txt; do\n  wc -l "$f" | awk \'{print $1}\' >> counts.log\ndone\n',
    'public class Hello {\n    public static void main(String[] args) {\n        System.out.println("Hello, " + args[0] + "!");\n    }\n}\n',
    '<html>\n  <body class="main">\n    <p id=\'x\'>&lt;tag&gt; &amp; &#x1F600;</p>\n  </body>\n</html>\n',
    'x <- c(1.5, 2.25, NA)\nmean(x, na.rm = TRUE)\n# comment with trailing spaces   \n',
    '    if (x != y && z <= 0x7fff) { return ~x >> 3 | y << 2; }  \r\n',
    'struct Foo<T: Clone + \'static> { inner: Box<dyn Fn(T) -> T> }\n',
    'lambda x: [i**2 for i in range(x) if i % 3 == 0]  # list-comp\n',
    '@decorator(arg=1)\nclass A(B, metaclass=M):\n    __slots__ = ("a", "_b")\n',
]

TOOL_CALLS = [
    {"name": "get_weather", "arguments": {"location": "San Francisco, CA", "unit": "celsius"}},
    {"name": "search_flights", "arguments": {"from": "JFK", "to": "NRT", "date": "2025-03-14", "passengers": 2}},
    {"name": "calculate", "arguments": {"expression": "(3 + 4) * 12 / 7.5"}},
    {"name": "send_email", "arguments": {"to": ["a@example.com", "b@example.org"], "subject": "Re: Q3 numbers", "body": "Hi,\n\nSee attached.\n\n— Bob"}},
    {"name": "translate", "arguments": {"text": "Wie geht's?", "target": "ja"}},
    {"name": "noop", "arguments": {}},
]

MARKERS = ["<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>", "<|endoftext|>",
           "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|file_sep|>", "<|repo_name|>",
           "<|vision_start|>", "<|image_pad|>", "<think>", "</think>", "<tool_response>",
           "</tool_response>", "<|im_start", "im_end|>", "<|", "|>"]

SCRIPTS = [
    "我们今天去公园散步，天气非常好。人工智能正在改变世界！",
    "東京は日本の首都です。ひらがなとカタカナ、そして漢字を使います。",
    "안녕하세요? 저는 학생입니다. 한국어는 재미있어요!",
    "مرحبا بالعالم! هذه جملة باللغة العربية، مع أرقام ١٢٣ و 456.",
    "नमस्ते दुनिया। यह हिंदी में एक वाक्य है, जिसमें संयुक्ताक्षर क्ष त्र ज्ञ हैं।",
    "Привет, мир! Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "สวัสดีครับ ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    "Γειά σου Κόσμε! Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.",
    "שלום עולם, זה טקסט בעברית.",
    "Ἐν ἀρχῇ ἦν ὁ λόγος — Tiếng Việt có dấu: Người đẹp, Đà Nẵng.",
    "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich. Straße, Maß.",
    "Ça va? L'été dernier, j'ai mangé des crêpes à Besançon. Œuvre, cœur.",
    "ግዕዝ ፊደል እና ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ  ꦗꦮ   ᠮᠣᠩᠭᠣᠯ",
    "ℌ𝔢𝔩𝔩𝔬 𝕎𝕠𝕣𝕝𝕕 ①②③ ⅷ ½ ² ℃ ﬁ ﬀ Ａｂｃ１２３",
]

EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵", "🇺🇸🇬🇧", "❤️", "🧑🏿‍🚀", "✈️", "🤖", "🫠",
         "👩‍💻", "🐈‍⬛", "1️⃣", "#️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"]

COMBINING = ["e\u0301", "Cafe\u0301 de\u0301ja\u0300 vu", "A\u030a", "n\u0303o", "\u1100\u1161\u11a8",
             "o\u0308\u0304", "a\u0323\u0302", "\u0915\u093c", "Z\u0335\u0317a\u0337l\u0334g\u0336o",
             "\u212b", "\u2126 ohm", "q\u0307\u0323", "\u00c5\u030a"]

CONTRACTIONS = ["I'M", "You'Re", "DON'T", "we'VE", "She'LL", "it's", "He'd", "THEY'RE", "can't",
                "Y'ALL", "'s'", "''m", "o'clock", "rock 'n' roll", "I'll've", "'Tis"]

WORDS = ("the quick brown fox jumps over lazy dog model layer router adapter token "
         "training loss gradient batch epoch skip attention head value query key").split()


def words(n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def pick(xs, k):
    return [rng.choice(xs) for _ in range(k)]


texts = []
add = texts.append

add("")
for s in [" ", "  ", "\t", "\n", "\r\n", "\n\n\n", " \n \n", "\t\t  \t", "a", "A", "0", "'", "''"]:
    add(s)

for c in CODE:
    add(c)
    add(c.replace("    ", "\t"))
for t in TOOL_CALLS:
    j = json.dumps(t, ensure_ascii=False)
    add("<tool_call>\n" + j + "\n</tool_call>")
    add("<|im_start|>assistant\n<tool_call>\n" + json.dumps(t, indent=2) + "\n</tool_call><|im_end|>\n")
    add(json.dumps(t))
for s in SCRIPTS:
    add(s)
    add(s + " " + words(5) + " " + s[: len(s) // 2])
    add("  " + s.replace(" ", "   ") + "\n\n")
for _ in range(40):
    parts = pick(MARKERS, 3) + pick(WORDS, 3) + pick(SCRIPTS, 1) + pick(EMOJI, 2) + ["\n", " "]
    rng.shuffle(parts)
    add("".join(p if rng.random() < 0.5 else p + " " for p in parts))
add("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat's 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>")
add("<|im_start|><|im_end|><|im_start|><|im_start|>")
add("<<|im_start|>>")
add("text<|endoftext|>more text<|endoftext|>")
add("<think>\nLet me think step by step.\n</think>\n\nThe answer is 42.")
for e in EMOJI:
    add(e)
    add("Status: " + e + " done" + e + e)
add("".join(EMOJI))
for c in COMBINING:
    add(c)
    add("word" + c + " " + c.upper() + "!")
for c in CONTRACTIONS:
    add(c)
    add("Well, " + c + " fine. " + c.lower() + " " + c.upper())
add(" ".join(CONTRACTIONS))
for n in [1, 2, 3, 4, 7, 12, 25, 64]:
    add("".join(str(rng.randrange(10)) for _ in range(n)))
add("3.14159265358979 2,718,281 1e-9 0xDEADBEEF 1_000_000 -42 +7 ٣٤٥ ๑๒๓ १२३ ０１２")
add("Call 555-0199 or +1 (800) 123-4567 before 2024-12-31T23:59:59Z.")
for ws in [" " * 2, " " * 5, " " * 17, "\t" * 3, "\n" * 4, "\r\n" * 3, " \t \n", "\u3000\u3000", "\u00a0\u00a0x",
           "\u2003\u2009\u200a", "\u2028\u2029", "a \u180e b", "x\u200b\u200cy\u200d", "\x0b\x0c"]:
    add("before" + ws + "after")
    add(ws)
    add("trailing" + ws)
add("line one   \nline two\t\t\nline three \r\n\r\n   indented\n")
add("tabs\tbetween\twords\t\tand  double  spaces  ")
for u in ["https://example.com/path/to/page?query=1&lang=en#section-2",
          "http://[::1]:8080/api/v1/users/42?fields=name,email",
          "ftp://files.example.org/pub/file-1.2.3.tar.gz",
          "mailto:someone@example.com?subject=Hello%20World",
          "https://zh.wikipedia.org/wiki/中文 and https://xn--n3h.com/☃"]:
    add(u)
    add("See <" + u + "> for details.")
for m in ["∀x ∈ ℝ, x² ≥ 0", "∫₀^∞ e^{-x²} dx = √π / 2", "E = mc^2; F = G·m₁·m₂/r²",
          "a ≤ b ≠ c ≈ d → e ⇒ f ⊂ g ∪ h ∩ i", "$\\frac{a}{b} + \\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}$",
          "2 + 2 = 4, 10 / 3 ≈ 3.333…, 7 % 3 == 1", "matrix [[1, 0], [0, 1]] · v⃗ = λv⃗"]:
    add(m)
for md in ["# Title\n\n## Subtitle\n\n- item one\n- item **two**\n  - nested _three_\n\n1. first\n2. second\n",
           "| a | b |\n|---|:-:|\n| 1 | 2 |\n", "> quote\n>> nested quote\n\n---\n\n`inline code` and\n\n```python\nprint('x')\n```\n",
           "[link](https://example.com \"title\") ![img](a.png) <br/> ~~strike~~ ***bold italic***"]:
    add(md)
add("!!!???...,,,;;;:::---___===+++***&&&^^^%%%$$$###@@@```~~~|||\\\\\\///")
add("(([[{{<<>>}}]])) \"quoted\" 'single' «guillemets» „German“ 「日本」 『二重』 【括弧】")
add("ALL CAPS SENTENCE WITH NUMBERS 123 AND PUNCTUATION!!! lower case again.")
add("CamelCaseIdentifier snake_case_identifier kebab-case-identifier SCREAMING_SNAKE __dunder__")
add("ſ long s 'ſ and Kelvin K and ﬃ ligature")

# Random mixes until there are plenty of texts.
pools = [WORDS, SCRIPTS, EMOJI, COMBINING, CONTRACTIONS, MARKERS,
         [" ", "  ", "\n", "\t", "\r\n", "   \n", ".", ",", "!", "?", "123", "4567", "'s", "'LL"]]
while len(texts) < 420:
    k = rng.randrange(3, 25)
    add("".join(rng.choice(rng.choice(pools)) + rng.choice(["", " ", "", "\n"]) for _ in range(k)))

# One ~20 KB text mixing everything.
big = []
while sum(len(b.encode()) for b in big) < 20000:
    big.append(rng.choice([words(rng.randrange(5, 40)), rng.choice(CODE), rng.choice(SCRIPTS),
                           rng.choice(EMOJI) * rng.randrange(1, 4), rng.choice(MARKERS),
                           json.dumps(rng.choice(TOOL_CALLS)), "\n\n", "   "]))
add(" ".join(big))

for t in texts:
    assert "\ufeff" not in t and "\u0085" not in t

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "tokenizer_corpus.jsonl")
with open(out, "w", encoding="utf-8", newline="\n") as f:
    for t in texts:
        f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
print(f"wrote {len(texts)} texts to {out}")
