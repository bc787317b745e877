#!/usr/bin/env python3
"""Independent computation of the FORMAT.md (version 2) test vectors.

Written from FORMAT.md alone with Python's hashlib/hmac and the
`cryptography` package (AES-GCM, Ed25519); it shares no code with the
crate. Run it and compare with the block in FORMAT.md:

    python3 crates/encrypted-audit-log/tests/vectors/gen_vectors.py
"""
import hashlib, hmac, json, struct, base64
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

def rng(a, n): return bytes(range(a, a + n))
def u16(x): return struct.pack('<H', x)
def u32(x): return struct.pack('<I', x)
def u64(x): return struct.pack('<Q', x)
def H(*parts):
    h = hashlib.sha256()
    for p in parts: h.update(p)
    return h.digest()
def M(key, *parts): return hmac.new(key, b''.join(parts), hashlib.sha256).digest()
def sk(seed): return Ed25519PrivateKey.from_private_bytes(seed)
def pk(k): return k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

L = rng(0xa0, 16)
sk0, sk1 = sk(rng(0x00, 32)), sk(rng(0x20, 32))
r0 = rng(0x40, 32)
S = rng(0x60, 32)
T = 1795367267000000000
SEC = 1_000_000_000
RET = 90 * 86400
out = {}

def frame(kind, epoch, seq, body, prev):
    length = 13 + len(body) + 32
    covered = u32(length) + bytes([kind]) + u32(epoch) + u64(seq) + body
    chain = H(b'EAL2 record\0', prev, covered)
    return covered + chain, chain

# Keys
k0 = M(r0, b'EAL2 record key\0', L)
r1 = M(r0, b'EAL2 evolve\0')
out['record_key_epoch0'] = k0
out['seed_epoch1'] = r1
out['verifying_key'] = pk(sk0)
# Segment header 1
hdr = (b'EALOGSEG' + u16(2) + u16(0) + L + pk(sk0) + u32(1) + u64(0) + u32(0)
       + u64(T) + u64(T) + u64(RET) + bytes(32))
assert len(hdr) == 132
out['segment_header'] = hdr
c = H(b'EAL2 segment\0', hdr)
# Record 0: event
pt = bytes([2]) + u64(T) + u16(5) + b'login' + b'{"user":"alice"}'
nonce = rng(0, 12)
body_len = 12 + len(pt) + 16
fh = u32(13 + body_len + 32) + bytes([1]) + u32(0) + u64(0)
aad = b'EAL2 event\0' + L + fh
ct = AESGCM(k0).encrypt(nonce, pt, aad)
out['plaintext'] = pt
ev, c = frame(1, 0, 0, nonce + ct, c)
out['event_frame'] = ev
# Record 1: seal of epoch 0
unsigned = u64(T + SEC) + u64(0) + u64(1) + c + pk(sk1)
sfh = u32(13 + 152 + 32) + bytes([2]) + u32(0) + u64(1)
sig = sk0.sign(b'EAL2 seal\0' + L + sfh + unsigned)
seal, c = frame(2, 0, 1, unsigned + sig, c)
out['seal_frame'] = seal
end = len(hdr) + len(ev) + len(seal)
# Head after record 1
hu = (b'EALOGHED' + u16(2) + u16(0) + L + pk(sk0) + u32(1) + u64(end) + u32(1) + u64(2)
      + u64(T + 2 * SEC) + u64(0) + c + pk(sk1))
out['head'] = hu + sk1.sign(b'EAL2 head\0' + hu)
# Checkpoint after record 1
ak = sk(rng(0x80, 32))
body = ('encrypted-audit-log/' + L.hex() + '\n2\n' + base64.b64encode(c).decode()
        + '\nverification-key ' + pk(sk0).hex() + '\n')
kh = H(b'laptop\n\x01' + pk(ak))[:4]
cp = body + '\n\u2014 laptop ' + base64.b64encode(kh + ak.sign(body.encode())).decode() + '\n'
out['checkpoint'] = cp.encode()
# Record 2: recovered
rec, c = frame(4, 1, 2, u64(T + 3 * SEC) + u32(1) + u64(1000) + u64(37), c)
out['recovered_frame'] = rec
# Record 3: tombstone
tb = (u64(T + 4 * SEC) + u64(T) + u64(RET) + u32(1)
      + u32(1) + u32(1) + u64(0) + u64(1) + u64(T + SEC) + u64(T + 4 * SEC))
tomb, c = frame(5, 1, 3, tb, c)
out['tombstone_frame'] = tomb
# Record 4: quarantine
qb = (u64(T + 5 * SEC) + bytes([1]) + u32(2) + u64(132) + u64(7) + u64(5) + u32(1)
      + u32(2) + H(b'x') + u32(0))
quar, c = frame(6, 1, 4, qb, c)
out['quarantine_frame'] = quar
# State slot: epoch 1
ks = M(S, b'EAL2 state key\0', L)
snonce = rng(0x0c, 12)
sh = b'EALOGSTA' + u16(2) + u16(0) + L + u32(1) + u64(1) + snonce
secret = rng(0x20, 32) + r1
slot = sh + AESGCM(ks).encrypt(snonce, secret, sh)
out['state_slot'] = slot + bytes(512 - len(slot))

for k, v in out.items():
    if k == 'checkpoint':
        print(f'{k} = {v.hex()}')
        continue
    h = v.hex()
    lines = [h[i:i + 64] for i in range(0, len(h), 64)]
    if k == 'state_slot':
        # Trailing zeros elided: the slot is zero-padded to 512 bytes.
        lines = [h[:264]]
    print(f'{k} = ' + '\n    '.join(lines))
