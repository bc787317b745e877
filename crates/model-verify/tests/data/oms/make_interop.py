#!/usr/bin/env python3
"""Checks that a manifest written by model-verify is a valid OMS payload.

Takes tests/data/format/model.manifest.json (written by `Manifest::to_json`,
with this crate's extra fields `size`, `manifest_version` and `revision`),
signs it as a DSSE envelope with the TEST-ONLY key p256.key exactly as
model_signing's key-based signer does, writes interop-p256.sig, and then
has model_signing 1.1.1 itself verify tests/data/format/model against it.
Run after make_fixtures.py, with the same venv:

    /tmp/oms-venv/bin/python make_interop.py
"""

import base64
import hashlib
import json
import pathlib

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
import model_signing

HERE = pathlib.Path(__file__).resolve().parent
FORMAT = HERE.parent / "format"
PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pae(payload: bytes) -> bytes:
    head = f"DSSEv1 {len(PAYLOAD_TYPE)} {PAYLOAD_TYPE} {len(payload)} "
    return head.encode() + payload


def main():
    payload = (FORMAT / "model.manifest.json").read_bytes()
    key = serialization.load_pem_private_key((HERE / "p256.key").read_bytes(), None)
    pub_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sig = key.sign(pae(payload), ec.ECDSA(hashes.SHA256()))
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "publicKey": {"hint": hashlib.sha256(pub_pem).hexdigest()},
            "tlogEntries": [],
        },
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(sig).decode(), "keyid": ""}],
        },
    }
    out = HERE / "interop-p256.sig"
    out.write_text(json.dumps(bundle, indent=2) + "\n")
    (
        model_signing.verifying.Config()
        .use_elliptic_key_verifier(public_key=HERE / "p256.pub")
        .set_hashing_config(
            model_signing.hashing.Config()
            .use_file_serialization()
            .set_ignored_paths(paths=[], ignore_git_paths=False)
        )
        .verify(FORMAT / "model", out)
    )
    print("model_signing verified", out.name)


if __name__ == "__main__":
    main()
