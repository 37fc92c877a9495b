"""Independent canonical-JSON checks for the end-to-end tests.

Canonical JSON here is what data-model.md describes: keys sorted, no
insignificant whitespace, UTF-8 (json.dumps(sort_keys=True,
separators=(',', ':'), ensure_ascii=False)). Runs with /usr/bin/python3 so the
tool's own JSON code never checks itself.

usage: canon.py digest DOC.json          sha256 of the canonical JSON of DOC's
                                         artifacts (DOC is a manifest, an import
                                         or a bare list), sorted by path
       canon.py expect INPUT.json [ROOT] the artifacts an import of INPUT must
                                         record (sha256/size from the files
                                         under ROOT, default INPUT's directory),
                                         sorted by path, as canonical JSON
       canon.py canonical DOC.json       DOC's canonical bytes (no newline)
       canon.py hash DOC.json            sha256 of the canonical JSON of DOC
       canon.py artifacts DOC.json       DOC's artifacts as canonical JSON
       canon.py sorted-artifacts DOC     the same, sorted by path
       canon.py is-canonical FILE...     every FILE is exactly its canonical form
       canon.py same A.json B.json       A and B are the same JSON value
"""
import hashlib
import json
import os
import sys


def canon(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def load(path):
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def artifacts_of(doc):
    return doc if isinstance(doc, list) else doc["artifacts"]


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "digest":
        arts = sorted(artifacts_of(load(args[0])), key=lambda a: a["path"])
        print(hashlib.sha256(canon(arts)).hexdigest())
    elif cmd == "canonical":
        sys.stdout.buffer.write(canon(load(args[0])))
    elif cmd == "hash":
        print(hashlib.sha256(canon(load(args[0]))).hexdigest())
    elif cmd == "artifacts":
        sys.stdout.buffer.write(canon(artifacts_of(load(args[0]))) + b"\n")
    elif cmd == "sorted-artifacts":
        arts = sorted(artifacts_of(load(args[0])), key=lambda a: a["path"])
        sys.stdout.buffer.write(canon(arts) + b"\n")
    elif cmd == "expect":
        doc = load(args[0])
        root = args[1] if len(args) > 1 else os.path.dirname(os.path.abspath(args[0]))
        out = []
        for a in doc["artifacts"]:
            with open(os.path.join(root, a["path"]), "rb") as f:
                data = f.read()
            e = dict(a)
            e["sha256"] = hashlib.sha256(data).hexdigest()
            e["size"] = len(data)
            out.append(e)
        out.sort(key=lambda a: a["path"])
        sys.stdout.buffer.write(canon(out) + b"\n")
    elif cmd == "is-canonical":
        bad = 0
        for path in args:
            with open(path, "rb") as f:
                raw = f.read()
            try:
                ok = canon(json.loads(raw.decode("utf-8"))) == raw
            except ValueError:
                ok = False
            if not ok:
                print(f"{path}: not canonical JSON", file=sys.stderr)
                bad = 1
        sys.exit(bad)
    elif cmd == "same":
        a, b = load(args[0]), load(args[1])
        if a != b:
            print(f"{args[0]} and {args[1]} differ", file=sys.stderr)
            sys.exit(1)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
