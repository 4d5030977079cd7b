#!/usr/bin/env python3
"""tokmint.py: an independent pl1 token writer for the e2e tests (Python's hmac and hashlib,
msgpack by hand), so the wire format is checked by something other than the engine's own code.

  tokmint.py SECRET SCOPES IAT EXP [ART]     SCOPES comma-separated; IAT/EXP Unix seconds,
                                             or +N/-N relative to now
"""
import base64, hashlib, hmac, os, sys, time


def hkdf_sha256(ikm, salt, info, length=32):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def mp_str(s):
    b = s.encode()
    if len(b) < 32:
        return bytes([0xA0 | len(b)]) + b
    return bytes([0xD9, len(b)]) + b


def mp_uint(n):
    if n < 128:
        return bytes([n])
    return b"\xcf" + n.to_bytes(8, "big")


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint(secret, scopes, iat, exp, art=None):
    key = hkdf_sha256(secret.encode(), b"proflab-tokens", b"pl1 hmac-sha256")
    m = bytes([0x80 | (6 if art else 5)])
    m += mp_str("v") + mp_uint(1)
    m += mp_str("scope") + bytes([0x90 | len(scopes)]) + b"".join(mp_str(s) for s in scopes)
    m += mp_str("iat") + mp_uint(iat) + mp_str("exp") + mp_uint(exp)
    m += mp_str("nonce") + b"\xc4\x10" + os.urandom(16)
    if art:
        m += mp_str("art") + mp_str(art)
    head = "pl1." + b64(m)
    return head + "." + b64(hmac.new(key, head.encode(), hashlib.sha256).digest())


def when(s):
    now = int(time.time())
    return now + int(s) if s[0] in "+-" else int(s)


if __name__ == "__main__":
    a = sys.argv[1:]
    print(mint(a[0], a[1].split(","), when(a[2]), when(a[3]), a[4] if len(a) > 4 else None))
