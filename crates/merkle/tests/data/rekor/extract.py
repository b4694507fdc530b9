#!/usr/bin/env python3
"""Extract checkpoint + inclusion-proof cases from the shared Sigstore vectors.

Run from this directory with the project's shared/ folder at ../../../../../../shared
(or pass its path as the first argument). Rewrites the *.json files beside this script.
"""
import base64, json, pathlib, sys, urllib.parse

shared = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../../../../../../shared")
vectors = shared / "sigstore-vectors"
roots = [vectors / "trust-roots/public-good.trusted_root.json",
         vectors / "trust-roots/staging.trusted_root.json"]
cases = {
    "production-v1-ecdsa": "sigstore-python/bundle_v3_github.whl.sigstore",
    "production-v1-ecdsa-shard2": "sigstore-python/bundle_v3_no_signed_time.txt.sigstore.json",
    "staging-v1-ecdsa": "sigstore-python/bundle_v3.txt.sigstore",
    "staging-v1-ecdsa-timestamp-extension": "sigstore-python/bundle.txt.sigstore",
    "staging-v2-ed25519": "sigstore-python/staging-rekor-v2.txt.sigstore.json",
    "staging-v2-ed25519-witnessed": "sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json",
}

keys = {}
for root in roots:
    for tlog in json.loads(root.read_text())["tlogs"]:
        host = urllib.parse.urlparse(tlog["baseUrl"]).hostname
        keys[host] = (tlog, root.name)

hexify = lambda b64: base64.b64decode(b64).hex()
for name, rel in cases.items():
    entry = json.loads((vectors / rel).read_text())["verificationMaterial"]["tlogEntries"][0]
    proof = entry["inclusionProof"]
    text = proof["checkpoint"]["envelope"]
    key_name = text.split("\n\n")[-1].split(" ")[1]
    tlog, root_name = keys[key_name]
    v2 = tlog["publicKey"]["keyDetails"] == "PKIX_ED25519"
    out = {
        "source": f"shared/sigstore-vectors/{rel}",
        "trusted_root": f"shared/sigstore-vectors/trust-roots/{root_name}",
        "key_name": key_name,
        "public_key_spki": tlog["publicKey"]["rawBytes"],
        "key_id_scheme": "c2sp" if v2 else "spki-sha256",
        "trusted_root_key_id": tlog["logId"]["keyId"],
        "checkpoint": text,
        "canonicalized_body": entry["canonicalizedBody"],
        "leaf_index": int(proof["logIndex"]),
        "tree_size": int(proof["treeSize"]),
        "root_hash": hexify(proof["rootHash"]),
        "hashes": [hexify(h) for h in proof["hashes"]],
    }
    pathlib.Path(f"{name}.json").write_text(json.dumps(out, indent=2) + "\n")
    print(name, key_name, out["tree_size"], len(out["hashes"]))
