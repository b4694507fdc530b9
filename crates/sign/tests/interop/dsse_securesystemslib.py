"""DSSE interop oracle: securesystemslib (secure-systems-lab, PyPI) checks vouch's envelopes
and makes one for vouch to check. Run by tests/dsse_interop.rs with the project venv's python.

  verify ENVELOPE.json PUBLIC.pem   exit 0 when securesystemslib verifies the envelope
  sign   PAYLOAD OUT.json OUT.pem   sign PAYLOAD (as application/vnd.in-toto+json) with a fresh
                                    ECDSA P-256 key; write the envelope and the public key
"""

import json
import sys

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey


def verify(envelope_path, pem_path):
    with open(envelope_path, "rb") as f:
        data = json.load(f)
    with open(pem_path, "rb") as f:
        public = load_pem_public_key(f.read())
    # securesystemslib only tries keys whose keyid equals the signature's (not DSSE-spec
    # behaviour, its issue #416); give the key the envelope's keyid.
    keyid = data["signatures"][0]["keyid"]
    envelope = Envelope.from_dict(data)
    # (from_crypto treats an empty keyid as "compute one", so build the key directly.)
    derived = SSlibKey.from_crypto(public)
    key = SSlibKey(keyid, derived.keytype, derived.scheme, derived.keyval)
    envelope.verify([key], 1)
    print(f"verified {envelope.payload_type} envelope, {len(envelope.payload)} payload bytes")


def sign(payload_path, out_json, out_pem):
    signer = CryptoSigner.generate_ecdsa()
    with open(payload_path, "rb") as f:
        payload = f.read()
    envelope = Envelope(payload, "application/vnd.in-toto+json", {})
    envelope.sign(signer)
    with open(out_json, "w") as f:
        json.dump(envelope.to_dict(), f)
    with open(out_pem, "w") as f:
        f.write(signer.public_key.keyval["public"])


if __name__ == "__main__":
    {"verify": verify, "sign": sign}[sys.argv[1]](*sys.argv[2:])
