"""Tiny random Qwen2 and Llama models and their reference outputs.

Run by `cargo xtask reference` with the venv's python (PyPI torch 2.13 and
transformers), never by hand:

    python make_reference.py OUTDIR

For each architecture it writes OUTDIR/tiny-<arch>/ (config.json,
generation_config.json, tokenizer.json, tokenizer_config.json,
*.safetensors; the Llama one sharded in several files with an index) and
OUTDIR/tiny-<arch>.reference.json + .reference.safetensors holding, for
several prompts, the prompt's token ids and transformers' greedy
continuation (generate, do_sample=False, no stop token), and for every other
prompt the float32 logits of every position of prompt + continuation (and
bfloat16 ones for the first). xtask then writes each model's manifest.

Everything is seeded; the weights are drawn with larger spreads than
transformers' init (std 0.02 gives nearly uniform logits) so that greedy
choices are decided by clear margins, and the smallest top-1/top-2 margin
along each continuation is recorded and required to exceed MIN_MARGIN.
"""

import json
import os
import random
import sys

import torch
from safetensors.torch import save_file
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
import transformers
from transformers import (
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
)

SEED = 20261206
VOCAB = 2048
NEW_TOKENS = 40
MIN_MARGIN = 1e-3
OUT_GAIN = 8.0

# Qwen2's pre-tokenizer split (from Qwen2.5's tokenizer.json).
QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

WORDS = """the of and to in is was for on that with as by at from his her it an were are which this
be or has had not but their they its one new after also who first two been more all other when
time into year over city there most only some about world school would made people during can
river state part where such between under house many later while three known back through before
village garden light water stone north south winter summer morning evening quiet small great old
young long short bright dark forest mountain road bridge market window letter story song music
teacher doctor farmer sailor baker painter writer reader journal memory dream thought question
answer reason season weather cloud rain snow wind fire earth silver golden green blue red white
Monday Tuesday London Paris Berlin Tokyo Zürich München café naïve façade""".split()


def corpus(rng):
    lines = []
    for _ in range(6000):
        n = rng.randint(4, 14)
        words = [rng.choice(WORDS) for _ in range(n)]
        if rng.random() < 0.3:
            words.insert(rng.randint(0, n), str(rng.randint(0, 99999)))
        s = " ".join(words)
        s = s[0].upper() + s[1:]
        s += rng.choice([".", "!", "?", ",", ";", ":", " —", "\n"])
        lines.append(s)
    return lines


def train_tokenizer(kind, rng):
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    if kind == "llama":
        specials = ["<|begin_of_text|>"] + specials
    tok = Tokenizer(models.BPE())
    if kind == "qwen2":
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    else:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB - 48,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(rng), trainer)
    if kind == "llama":
        bos = tok.token_to_id("<|begin_of_text|>")
        tok.post_processor = processors.TemplateProcessing(
            single="<|begin_of_text|> $A",
            pair="<|begin_of_text|> $A <|begin_of_text|> $B",
            special_tokens=[("<|begin_of_text|>", bos)],
        )
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def spread_init(model, gen):
    """Wider random weights than transformers' init, so logits have margins."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
            elif "embed_tokens" in name or name == "lm_head.weight":
                p.copy_(1.0 * torch.randn(p.shape, generator=gen))
            else:
                # The layers' outputs (o_proj, down_proj) are scaled up so
                # that they, not the input token's own embedding, dominate
                # the residual stream: with a tied head the model would
                # otherwise just repeat its last token.
                fan_in = p.shape[1]
                gain = OUT_GAIN if ("o_proj" in name or "down_proj" in name) else 1.0
                p.copy_(gain * torch.randn(p.shape, generator=gen) / fan_in**0.5)


def build(kind, outdir):
    rng = random.Random(f"{SEED}-{kind}")
    gen = torch.Generator().manual_seed(SEED + (0 if kind == "qwen2" else 1))
    torch.manual_seed(SEED)
    raw = train_tokenizer(kind, rng)
    eos = raw.token_to_id("<|im_end|>" if kind == "qwen2" else "<|endoftext|>")
    endoftext = raw.token_to_id("<|endoftext|>")
    if kind == "qwen2":
        cfg = Qwen2Config(
            vocab_size=VOCAB,
            hidden_size=64,
            intermediate_size=176,
            num_hidden_layers=3,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=512,
            rope_theta=1000000.0,
            rms_norm_eps=1e-6,
            tie_word_embeddings=True,
            bos_token_id=endoftext,
            eos_token_id=eos,
        )
        model = Qwen2ForCausalLM(cfg)
        bos_token = None
    else:
        bos = raw.token_to_id("<|begin_of_text|>")
        cfg = LlamaConfig(
            vocab_size=VOCAB,
            hidden_size=64,
            intermediate_size=192,
            num_hidden_layers=3,
            num_attention_heads=4,
            num_key_value_heads=1,
            max_position_embeddings=512,
            rope_theta=500000.0,
            rms_norm_eps=1e-5,
            tie_word_embeddings=False,
            bos_token_id=bos,
            eos_token_id=eos,
        )
        model = LlamaForCausalLM(cfg)
        bos_token = "<|begin_of_text|>"
    spread_init(model, gen)
    model = model.to(torch.float32).eval()

    d = os.path.join(outdir, f"tiny-{kind}")
    os.makedirs(d, exist_ok=True)
    # The Llama model is sharded (several safetensors files and an index),
    # so that shard-by-shard loading is exercised.
    shard = "200KB" if kind == "llama" else "50MB"
    model.save_pretrained(d, max_shard_size=shard, safe_serialization=True)
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token="<|im_end|>" if kind == "qwen2" else "<|endoftext|>",
        bos_token=bos_token,
        pad_token="<|endoftext|>",
    )
    hf_tok.save_pretrained(d)

    prompts = [
        "The quick brown fox",
        "Once upon a time, in a small village by the river",
        "<|im_start|>user\nWhat is the weather in Zürich today?<|im_end|>\n<|im_start|>assistant\n",
        "Grüße aus München — naïve café 日本語 42",
    ]
    gcfg = GenerationConfig(
        do_sample=False,
        max_new_tokens=NEW_TOKENS,
        eos_token_id=None,
        pad_token_id=endoftext,
    )
    records, tensors = [], {}
    for i, text in enumerate(prompts):
        ids = hf_tok(text)["input_ids"]
        inp = torch.tensor([ids])
        with torch.no_grad():
            out = model.generate(inp, generation_config=gcfg, attention_mask=torch.ones_like(inp))
        new = out[0, len(ids):].tolist()
        assert len(new) == NEW_TOKENS, (kind, i, len(new))
        full = torch.tensor([ids + new])
        with torch.no_grad():
            logits = model(full).logits[0].to(torch.float32).contiguous()
        # Greedy under teacher forcing must reproduce the continuation.
        assert logits[len(ids) - 1 : -1].argmax(-1).tolist() == new, (kind, i)
        top2 = logits[len(ids) - 1 : -1].topk(2, dim=-1).values
        margin = float((top2[:, 0] - top2[:, 1]).min())
        assert margin > MIN_MARGIN, (kind, i, margin)
        # Every position's logits for every other prompt (fixture size).
        if i % 2 == 0:
            tensors[f"logits.{i}"] = logits
        records.append(
            {
                "text": text,
                "prompt_ids": ids,
                "greedy": new,
                "min_margin": margin,
                "decoded": hf_tok.decode(new),
            }
        )
    # bfloat16 reference logits of the first prompt (loose comparison).
    mb = model.to(torch.bfloat16)
    with torch.no_grad():
        first = torch.tensor([records[0]["prompt_ids"] + records[0]["greedy"]])
        tensors["logits_bf16.0"] = mb(first).logits[0].to(torch.float32).contiguous()
    save_file(tensors, os.path.join(outdir, f"tiny-{kind}.reference.safetensors"))
    meta = {
        "model": f"tiny-{kind}",
        "seed": SEED,
        "new_tokens": NEW_TOKENS,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "attn_implementation": model.config._attn_implementation,
        "eos_token_id": eos,
        "prompts": records,
    }
    with open(os.path.join(outdir, f"tiny-{kind}.reference.json"), "w") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
        f.write("\n")
    n = sum(p.numel() for p in model.parameters())
    print(f"tiny-{kind}: {n} parameters, min greedy margin "
          f"{min(r['min_margin'] for r in records):.4f}, tokenizer {raw.get_vocab_size()} tokens")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_reference.py OUTDIR")
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for kind in ("qwen2", "llama"):
        build(kind, sys.argv[1])


if __name__ == "__main__":
    main()
