#!/usr/bin/env python3
"""Generates the OMS (OpenSSF model_signing) fixture bundles used by
crates/model-verify/tests.

Run once, offline, from this directory, with the PyPI package installed:

    python3 -m venv /tmp/oms-venv
    /tmp/oms-venv/bin/pip install model-signing==1.1.1
    /tmp/oms-venv/bin/python make_fixtures.py

It writes:
  model/                  a tiny Hugging Face style model (config.json,
                          tokenizer.json, model.safetensors)
  p256.key / p256.pub     a TEST-ONLY ECDSA P-256 key pair (PEM)
  p384.key / p384.pub     a TEST-ONLY ECDSA P-384 key pair (PEM)
  other.pub               an unrelated P-256 public key (wrong-key tests)
  files-p256.sig          bundle, file serialization, signed with p256.key
  shards-p256.sig         bundle, shard serialization (shard_size=64)
  files-p384.sig          bundle, file serialization, signed with p384.key

ECDSA signatures are randomized, so re-running changes the .sig files and
the keys; the tests only rely on the files being consistent with each other.
The key-based method of model_signing (use_elliptic_key_signer) is the one
used: Sigstore keyless signing needs the network and is out of scope.
"""

import json
import pathlib
import shutil
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
import model_signing

HERE = pathlib.Path(__file__).resolve().parent


def safetensors(tensors):
    """Serializes {name: (dtype, shape, bytes)} in the safetensors layout."""
    header = {}
    data = b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {
            "dtype": dtype,
            "shape": shape,
            "data_offsets": [len(data), len(data) + len(raw)],
        }
        data += raw
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def write_model(model):
    if model.exists():
        shutil.rmtree(model)
    model.mkdir()
    (model / "config.json").write_text(
        json.dumps({"model_type": "llama", "hidden_size": 4, "vocab_size": 8})
        + "\n"
    )
    (model / "tokenizer.json").write_text(
        json.dumps({"version": "1.0", "model": {"type": "BPE", "vocab": {}}})
        + "\n"
    )
    weight = struct.pack("<32f", *[i / 8 for i in range(32)])
    bias = struct.pack("<4f", 0.5, -0.5, 1.0, -1.0)
    (model / "model.safetensors").write_bytes(
        safetensors(
            {
                "embed.weight": ("F32", [8, 4], weight),
                "norm.bias": ("F32", [4], bias),
            }
        )
    )


def write_key(curve, name):
    key = ec.generate_private_key(curve)
    (HERE / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (HERE / f"{name}.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )


def sign(key, hashing_config, out):
    (
        model_signing.signing.Config()
        .use_elliptic_key_signer(private_key=HERE / key)
        .set_hashing_config(hashing_config)
        .sign(HERE / "model", HERE / out)
    )
    # Prove the bundle verifies with the reference implementation.
    (
        model_signing.verifying.Config()
        .use_elliptic_key_verifier(public_key=HERE / key.replace(".key", ".pub"))
        .set_hashing_config(hashing_config)
        .verify(HERE / "model", HERE / out)
    )


def main():
    write_model(HERE / "model")
    write_key(ec.SECP256R1(), "p256")
    write_key(ec.SECP384R1(), "p384")
    write_key(ec.SECP256R1(), "other")
    (HERE / "other.key").unlink()
    files = model_signing.hashing.Config().use_file_serialization()
    shards = model_signing.hashing.Config().use_shard_serialization(shard_size=64)
    sign("p256.key", files, "files-p256.sig")
    sign("p256.key", shards, "shards-p256.sig")
    sign("p384.key", files, "files-p384.sig")


if __name__ == "__main__":
    main()
