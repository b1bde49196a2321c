#!/usr/bin/env python3
"""Writes a tar archive from a JSON list of entries, for tests that need archives no honest
tool writes (absolute paths, `..`, links out, devices, whiteouts, xattrs).

usage: make-tar.py OUT.tar[.gz|.zst|.xz] < entries.json

Each entry: {"name": "a/b", "type": "file"|"dir"|"symlink"|"hardlink"|"char"|"block"|"fifo",
"data": "text", "mode": 420, "uid": 0, "gid": 0, "target": "...", "major": 1, "minor": 3,
"xattrs": {"user.k": "v"}, "mtime": 0}. The compression is chosen by the suffix (zstd via the
zstd program)."""
import io
import json
import subprocess
import sys
import tarfile

TYPES = {
    "file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
    "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE,
}


def main():
    out = sys.argv[1]
    entries = json.load(sys.stdin)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e["name"])
            info.type = TYPES[e.get("type", "file")]
            info.mode = e.get("mode", 0o755 if info.type == tarfile.DIRTYPE else 0o644)
            info.uid, info.gid = e.get("uid", 0), e.get("gid", 0)
            info.mtime = e.get("mtime", 1_700_000_000)
            if "target" in e:
                info.linkname = e["target"]
            info.devmajor, info.devminor = e.get("major", 0), e.get("minor", 0)
            if "xattrs" in e:
                info.pax_headers = {"SCHILY.xattr." + k: v for k, v in e["xattrs"].items()}
            data = e.get("data", "").encode()
            if info.type == tarfile.REGTYPE:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    raw = buffer.getvalue()
    if out.endswith(".gz"):
        import gzip
        raw = gzip.compress(raw)
    elif out.endswith(".xz"):
        import lzma
        raw = lzma.compress(raw)
    elif out.endswith(".zst"):
        raw = subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
    with open(out, "wb") as f:
        f.write(raw)


if __name__ == "__main__":
    main()
