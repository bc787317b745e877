#!/usr/bin/env python3
"""Writes the hostile pickle fixtures used by tests/hostile.rs.

Run from this directory with a venv holding joblib (and, to record what
picklescan reports, picklescan 1.0.5):

    python3 -m venv ~/.cache/model-verify/oms-venv
    ~/.cache/model-verify/oms-venv/bin/pip install joblib picklescan==1.0.5
    ~/.cache/model-verify/oms-venv/bin/python make_pickles.py
    ~/.cache/model-verify/oms-venv/bin/picklescan -p .   # see PICKLESCAN.txt

Nothing here is ever unpickled: each payload only *names* os.system or
builtins.eval through __reduce__, the way a malicious checkpoint does.
"""

import gzip
import io
import os
import pickle
import zipfile

import joblib


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


class EvalEvil:
    def __reduce__(self):
        return (eval, ("1+1",))


def main():
    payload = {"weights": [1.0, 2.0], "evil": Evil()}
    with open("proto0.pkl.bin", "wb") as f:
        pickle.dump(payload, f, protocol=0)
    with open("proto1.pkl.bin", "wb") as f:
        pickle.dump({"x": EvalEvil()}, f, protocol=1)
    with open("proto2.pkl.bin", "wb") as f:
        pickle.dump(payload, f, protocol=2)
    with open("proto5.pkl.bin", "wb") as f:
        pickle.dump(payload, f, protocol=5)
    with open("benign_proto0.pkl.bin", "wb") as f:
        pickle.dump({"a": [1, 2, 3], "b": "text"}, f, protocol=0)
    with gzip.open("gzip.pkl.gz.bin", "wb") as f:
        pickle.dump(payload, f, protocol=0)
    joblib.dump(payload, "joblib.xz.bin", compress=("xz", 3))
    joblib.dump(payload, "joblib.zlib.bin", compress=("zlib", 3))
    # A torch.save-style zip: a directory holding data.pkl.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(payload, protocol=2))
        z.writestr("archive/version", "3\n")
    with open("torch_zip.pt.bin", "wb") as f:
        f.write(buf.getvalue())
    # The same zip behind 64 bytes of text: zip readers find it from its end.
    with open("prefixed_zip.bin", "wb") as f:
        f.write(b"# not a zip, honest\n" * 3 + b"....")
        f.write(buf.getvalue())


if __name__ == "__main__":
    main()
