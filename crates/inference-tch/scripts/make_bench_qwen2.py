"""A random Qwen2 of about 100M parameters, for speed comparisons only.

Run by `cargo xtask smollm2` (never by hand):

    python make_bench_qwen2.py OUTDIR TOKENIZER_JSON

Hidden 768, 12 layers, 12 query / 2 key-value heads, MLP 2048, vocabulary
32000, tied head (Qwen2.5-0.5B's shape family, smaller): 97M parameters,
float32. The tokenizer is copied in only because a model directory needs
one; the benchmark feeds token ids.
"""

import os
import shutil
import sys

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM


def main():
    out, tokenizer = sys.argv[1], sys.argv[2]
    torch.manual_seed(1)
    cfg = Qwen2Config(
        vocab_size=32000,
        hidden_size=768,
        intermediate_size=2048,
        num_hidden_layers=12,
        num_attention_heads=12,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        rope_theta=1000000.0,
        tie_word_embeddings=True,
        bos_token_id=0,
        eos_token_id=1,
    )
    model = Qwen2ForCausalLM(cfg).to(torch.float32).eval()
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    shutil.copy(tokenizer, os.path.join(out, "tokenizer.json"))
    n = sum(p.numel() for p in model.parameters())
    print(f"bench-qwen2: {n / 1e6:.1f}M parameters")


if __name__ == "__main__":
    main()
