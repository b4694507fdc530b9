"""An independent OIDC issuer for vouch-ca's tests: PyJWT (with pyca/cryptography) mints the
tokens, http.server serves discovery and JWKS on loopback. Not vouch code, on purpose: the CA
must accept what a real JOSE implementation produces.

Any path prefix is an issuer: GET /<name>/.well-known/openid-configuration names issuer
http://127.0.0.1:PORT/<name> and jwks_uri http://127.0.0.1:PORT/<name>/jwks (one key set for all).

POST /mint {"key": "rsa"|"pss"|"ec384"|"ed25519"|"ec256", "claims": {...},
            "alg": optional override, "kid": optional header kid override}
  -> the compact token. alg "none" gives an unsigned token; alg "HS256" is keyed with the PEM of
  the named key's *public* key (the classic RS/HS confusion), which PyJWT refuses to do, so that
  one is built by hand with hmac.
POST /rotate {"key": "rsa"} -> replaces that key with a new one under a new kid; prints the kid.
GET /stats -> {"jwks_fetches": N, "discovery_fetches": N}

Prints the base URL on the first line of stdout, then serves until stdin closes.
"""
import base64
import hashlib
import hmac
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm, RSAPSSAlgorithm

ALGS = {"rsa": "RS256", "pss": "PS256", "ec384": "ES384", "ec256": "ES256", "ed25519": "EdDSA"}
lock = threading.Lock()
keys = {}
generation = {}
stats = {"jwks_fetches": 0, "discovery_fetches": 0}


def generate(name):
    if name in ("rsa", "pss"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if name == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    if name == "ec256":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


def rotate(name):
    generation[name] = generation.get(name, 0) + 1
    keys[name] = (f"{name}-{generation[name]}", generate(name))
    return keys[name][0]


for n in ALGS:
    rotate(n)


def jwk(name):
    kid, key = keys[name]
    public = key.public_key()
    if name in ("rsa", "pss"):
        out = json.loads(RSAAlgorithm.to_jwk(public))
    elif name.startswith("ec"):
        out = json.loads(ECAlgorithm.to_jwk(public))
    else:
        out = json.loads(OKPAlgorithm.to_jwk(public))
    out.update({"kid": kid, "alg": ALGS[name], "use": "sig"})
    return out


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(req):
    name = req.get("key", "rsa")
    kid, key = keys[name]
    kid = req.get("kid", kid)
    alg = req.get("alg", ALGS[name])
    claims = req["claims"]
    if alg == "none":
        return jwt.encode(claims, None, algorithm="none", headers={"kid": kid})
    if alg.startswith("HS"):
        secret = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        header = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
        payload = b64(json.dumps(claims).encode())
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
        mac = hmac.new(secret, f"{header}.{payload}".encode(), digest).digest()
        return f"{header}.{payload}.{b64(mac)}"
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        base = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"
        with lock:
            if self.path == "/stats":
                return self.answer(200, json.dumps(stats))
            if self.path.endswith("/.well-known/openid-configuration"):
                prefix = self.path[: -len("/.well-known/openid-configuration")]
                stats["discovery_fetches"] += 1
                issuer = base + prefix
                return self.answer(200, json.dumps({
                    "issuer": issuer,
                    "jwks_uri": issuer + "/jwks",
                    "response_types_supported": ["id_token"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": sorted(set(ALGS.values())),
                }))
            if self.path.endswith("/jwks"):
                stats["jwks_fetches"] += 1
                return self.answer(200, json.dumps({"keys": [jwk(n) for n in ALGS]}))
        self.answer(404, "{}")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(length) or b"{}")
        with lock:
            if self.path == "/mint":
                return self.answer(200, mint(req), "text/plain")
            if self.path == "/rotate":
                return self.answer(200, rotate(req.get("key", "rsa")), "text/plain")
        self.answer(404, "{}")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address
    print(f"http://{host}:{port}", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # the test closes stdin (or dies) to stop us
    server.shutdown()


if __name__ == "__main__":
    main()
