"""A TUF repository made with python-tuf (the reference implementation), for vouch's TUF
client tests (crates/cli/tests/tuf.rs). Everything is written with python-tuf's Metadata API
and signed with securesystemslib's CryptoSigner (ECDSA P-256, the key type Sigstore's root
uses); vouch never sees anything but the files.

    tuf_repo.py init WORK --target NAME=FILE...     repository v1 in WORK/repo, initial root
                                                     in WORK/root.json
    tuf_repo.py publish WORK [--target NAME=FILE]... [--expired ROLE]... [--timestamp-key K]
                                                     new targets, snapshot and timestamp
                                                     (the timestamp signed by key K instead)
    tuf_repo.py rotate-root WORK [--old-signatures N] [--new-signatures N] [--expired]
                                                     new root keys (threshold 2) and
                                                     timestamp key, signed by N old root keys
                                                     and N new ones

Layout (consistent snapshots, as sigstore/root-signing): N.root.json, timestamp.json,
N.snapshot.json, N.targets.json, targets/SHA256.NAME.
"""

import argparse
import hashlib
import json
import os
import sys
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

ROLES = ["root", "timestamp", "snapshot", "targets"]


def now():
    return datetime.now(timezone.utc).replace(microsecond=0)


def in_days(days):
    return now() + timedelta(days=days)


def signer(work, name):
    """The key `name` of WORK/keys, generated on first use."""
    path = os.path.join(work, "keys", name + ".pem")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        s = CryptoSigner.generate_ecdsa()
        with open(path, "wb") as f:
            f.write(s.private_bytes)
        return s
    with open(path, "rb") as f:
        return CryptoSigner(load_pem_private_key(f.read(), None))


def repo_dir(work):
    return os.path.join(work, "repo")


def write(work, name, md):
    path = os.path.join(repo_dir(work), name)
    md.to_file(path, JSONSerializer(compact=False))


def load(work, name):
    return Metadata.from_file(os.path.join(repo_dir(work), name))


def latest_root(work):
    versions = [
        int(n.split(".")[0])
        for n in os.listdir(repo_dir(work))
        if n.endswith(".root.json") and n.split(".")[0].isdigit()
    ]
    return load(work, f"{max(versions)}.root.json")


def state(work):
    with open(os.path.join(work, "state.json")) as f:
        return json.load(f)


def save_state(work, st):
    with open(os.path.join(work, "state.json"), "w") as f:
        json.dump(st, f, indent=1)


def add_targets(work, targets, pairs):
    os.makedirs(os.path.join(repo_dir(work), "targets"), exist_ok=True)
    for pair in pairs:
        name, path = pair.split("=", 1)
        with open(path, "rb") as f:
            data = f.read()
        target = TargetFile.from_data(name, data, ["sha256"])
        targets.targets[name] = target
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(repo_dir(work), "targets", f"{digest}.{name}"), "wb") as f:
            f.write(data)


def publish(work, pairs, expired, timestamp_key=None):
    """New targets (when pairs), snapshot and timestamp versions, signed by the current keys."""
    st = state(work)
    targets = load(work, f"{st['targets']}.targets.json")
    # New targets metadata when targets change, when asked to expire, or when the current one
    # has expired (a publish after an expired-targets test heals the repository).
    if pairs or "targets" in expired or targets.signed.expires <= now():
        targets.signed.version += 1
        targets.signed.expires = in_days(-1) if "targets" in expired else in_days(30)
        add_targets(work, targets.signed, pairs)
        targets.signatures.clear()
        targets.sign(signer(work, st["keys"]["targets"]))
        write(work, f"{targets.signed.version}.targets.json", targets)
    snapshot = Snapshot(
        version=st["snapshot"] + 1,
        expires=in_days(-1) if "snapshot" in expired else in_days(30),
    )
    snapshot.meta["targets.json"] = MetaFile(version=targets.signed.version)
    md = Metadata(snapshot)
    md.sign(signer(work, st["keys"]["snapshot"]))
    write(work, f"{snapshot.version}.snapshot.json", md)
    timestamp = Timestamp(
        version=st["timestamp"] + 1,
        expires=in_days(-1) if "timestamp" in expired else in_days(1),
        snapshot_meta=MetaFile(version=snapshot.version),
    )
    md = Metadata(timestamp)
    md.sign(signer(work, timestamp_key or st["keys"]["timestamp"]))
    write(work, "timestamp.json", md)
    st.update(targets=targets.signed.version, snapshot=snapshot.version, timestamp=timestamp.version)
    save_state(work, st)


def init(work, pairs):
    os.makedirs(repo_dir(work), exist_ok=True)
    keys = {
        "root": ["root1", "root2", "root3"],
        "timestamp": "timestamp1",
        "snapshot": "snapshot1",
        "targets": "targets1",
    }
    root = Root(expires=in_days(365), consistent_snapshot=True)
    for name in keys["root"]:
        root.add_key(signer(work, name).public_key, "root")
    root.roles["root"].threshold = 2
    for role in ["timestamp", "snapshot", "targets"]:
        root.add_key(signer(work, keys[role]).public_key, role)
    md = Metadata(root)
    for name in keys["root"]:
        md.sign(signer(work, name), append=True)
    write(work, "1.root.json", md)
    md.to_file(os.path.join(work, "root.json"), JSONSerializer(compact=False))
    targets = Targets(version=1, expires=in_days(30))
    add_targets(work, targets, pairs)
    tmd = Metadata(targets)
    tmd.sign(signer(work, keys["targets"]))
    write(work, "1.targets.json", tmd)
    save_state(work, {"keys": keys, "targets": 1, "snapshot": 0, "timestamp": 0})
    publish(work, [], [])


def rotate_root(work, old_signatures, new_signatures=3, expired=False):
    """Root N+1 with three new root keys (threshold 2) and a new timestamp key, signed by
    `old_signatures` keys of root N and by the new keys; then a timestamp signed by the new
    timestamp key."""
    st = state(work)
    old = latest_root(work)
    root = old.signed
    old_keys = st["keys"]["root"]
    generation = root.version + 1
    new_keys = [f"root{i}-v{generation}" for i in range(1, 4)]
    for keyid in list(root.roles["root"].keyids):
        root.revoke_key(keyid, "root")
    for name in new_keys:
        root.add_key(signer(work, name).public_key, "root")
    for keyid in list(root.roles["timestamp"].keyids):
        root.revoke_key(keyid, "timestamp")
    ts_key = f"timestamp-v{generation}"
    root.add_key(signer(work, ts_key).public_key, "timestamp")
    root.version = generation
    root.expires = in_days(-1) if expired else in_days(365)
    md = Metadata(root)
    for name in old_keys[:old_signatures] + new_keys[:new_signatures]:
        md.sign(signer(work, name), append=True)
    write(work, f"{generation}.root.json", md)
    st["keys"]["root"] = new_keys
    st["keys"]["timestamp"] = ts_key
    save_state(work, st)
    publish(work, [], [])


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("init")
    i.add_argument("work")
    i.add_argument("--target", action="append", default=[])
    u = sub.add_parser("publish")
    u.add_argument("work")
    u.add_argument("--target", action="append", default=[])
    u.add_argument("--expired", action="append", default=[], choices=["timestamp", "snapshot", "targets"])
    u.add_argument("--timestamp-key")
    r = sub.add_parser("rotate-root")
    r.add_argument("work")
    r.add_argument("--old-signatures", type=int, default=2)
    r.add_argument("--new-signatures", type=int, default=3)
    r.add_argument("--expired", action="store_true")
    a = p.parse_args()
    if a.cmd == "init":
        init(a.work, a.target)
    elif a.cmd == "publish":
        publish(a.work, a.target, a.expired, a.timestamp_key)
    else:
        rotate_root(a.work, a.old_signatures, a.new_signatures, a.expired)


if __name__ == "__main__":
    sys.exit(main())
