"""transformers' speed on a model directory, for `cargo xtask smollm2`.

    python bench_transformers.py MODEL_DIR PROMPT_IDS(comma-separated) NEW_TOKENS THREADS

Prints one JSON line: prompt tokens/s (one forward pass over the prompt,
after a warm-up) and generated tokens/s (greedy `generate` of NEW_TOKENS
tokens with its KV cache, less the prompt pass), float32, on CPU.
"""

import json
import sys
import time

import torch
from transformers import AutoModelForCausalLM, GenerationConfig


def main():
    d, ids, n, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    ids = [int(x) for x in ids.split(",")]
    model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, local_files_only=True).eval()
    inp = torch.tensor([ids])
    mask = torch.ones_like(inp)
    cfg = GenerationConfig(do_sample=False, max_new_tokens=n, min_new_tokens=n, pad_token_id=0)
    with torch.no_grad():
        model(inp)
        model.generate(inp, generation_config=cfg, attention_mask=mask)  # warm-up
        t0 = time.perf_counter()
        model(inp)
        prompt_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.generate(inp, generation_config=cfg, attention_mask=mask)
        total_s = time.perf_counter() - t0
    print(json.dumps({
        "prompt_tokens_per_s": len(ids) / prompt_s,
        "generated_tokens_per_s": (n - 1) / max(total_s - prompt_s, 1e-9),
        "threads": threads,
    }))


if __name__ == "__main__":
    main()
