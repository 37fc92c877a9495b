#!/usr/bin/python3
"""Edit a packed manifest of the local cache (cr_manifest_pack's format), as
someone with write access to $GIT_DIR could, keeping its checksum valid:

  manifest_pack.py show FILE                 the fields, as JSON
  manifest_pack.py set-sha FILE PATH SHA256  give artifact PATH another sha256
  manifest_pack.py drop FILE PATH            drop artifact PATH and set
                                             manifest_digest to the new list's
"""
import hashlib
import json
import struct
import sys

MAGIC = b"CRMANv1\n"
NULL = 0xFFFFFFFF
HEAD = ["manifest_id", "candidate_id", "import_id", "source_commit", "created_by", "created_at", "manifest_digest"]
ART = ["path", "sha256", "source", "kind", "media_type"]


def read(path):
    data = open(path, "rb").read()
    body, trailer = data[:-64], data[-64:]
    assert body[:8] == MAGIC and hashlib.sha256(body).hexdigest().encode() == trailer
    pos = 8

    def u64():
        nonlocal pos
        v = struct.unpack_from("<Q", body, pos)[0]
        pos += 8
        return v

    def s():
        nonlocal pos
        n = struct.unpack_from("<I", body, pos)[0]
        pos += 4
        if n == NULL:
            return None
        v = body[pos:pos + n].decode()
        pos += n
        return v

    m = {"count": u64(), "version": u64(), "total_size": u64()}
    for k in HEAD:
        m[k] = s()
    m["artifacts"] = []
    for _ in range(m["count"]):
        a = {"size": u64()}
        for k in ART:
            a[k] = s()
        m["artifacts"].append(a)
    assert pos == len(body)
    return m


def write(path, m):
    out = bytearray(MAGIC)

    def s(v):
        if v is None:
            out.extend(struct.pack("<I", NULL))
        else:
            b = v.encode()
            out.extend(struct.pack("<I", len(b)) + b)

    out.extend(struct.pack("<QQQ", len(m["artifacts"]), m["version"], m["total_size"]))
    for k in HEAD:
        s(m[k])
    for a in m["artifacts"]:
        out.extend(struct.pack("<Q", a["size"]))
        for k in ART:
            s(a[k])
    out.extend(hashlib.sha256(out).hexdigest().encode())
    open(path, "wb").write(out)


def digest(arts):
    items = [{k: v for k, v in a.items() if v is not None} for a in arts]
    text = json.dumps(items, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def main(argv):
    op, path = argv[1], argv[2]
    m = read(path)
    if op == "show":
        print(json.dumps(m))
        return 0
    if op == "set-sha":
        hit = [a for a in m["artifacts"] if a["path"] == argv[3]]
        assert hit, argv[3]
        hit[0]["sha256"] = argv[4]
    elif op == "drop":
        m["artifacts"] = [a for a in m["artifacts"] if a["path"] != argv[3]]
        m["manifest_digest"] = digest(m["artifacts"])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    write(path, m)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
