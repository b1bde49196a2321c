#!/usr/bin/env python3
"""Writes a tar archive from a JSON list of entries, for tests that need archives no honest
tool writes (absolute paths, `..`, links out, devices, whiteouts, xattrs).

usage: make-tar.py OUT.tar[.gz|.zst|.xz] < entries.json

Each entry: {"name": "a/b", "type": "file"|"dir"|"symlink"|"hardlink"|"char"|"block"|"fifo",
"data": "text" (or "file": a path whose bytes are the data), "mode": 420, "uid": 0, "gid": 0, "target": "...", "major": 1, "minor": 3,
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


def tar_bytes(entries):
    """The uncompressed tar stream of `entries` (deterministic: fixed times unless given)."""
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
            if "file" in e:
                with open(e["file"], "rb") as f:
                    data = f.read()
            if info.type == tarfile.REGTYPE:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return buffer.getvalue()


def compress(raw, how):
    """`raw` compressed as "gz", "zst", "xz" or not at all."""
    if how == "gz":
        import gzip
        return gzip.compress(raw, mtime=0)
    if how == "xz":
        import lzma
        return lzma.compress(raw)
    if how == "zst":
        return subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
    return raw


def main():
    out = sys.argv[1]
    raw = tar_bytes(json.load(sys.stdin))
    suffix = out.rsplit(".", 1)[-1] if "." in out else ""
    with open(out, "wb") as f:
        f.write(compress(raw, suffix if suffix in ("gz", "xz", "zst") else ""))


if __name__ == "__main__":
    main()
