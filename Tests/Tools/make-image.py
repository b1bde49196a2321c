#!/usr/bin/env python3
"""Writes an image in one of the forms `podsh image load` reads, from a JSON description, for
tests that need images no registry is needed for (and hostile ones: a wrong digest).

usage: make-image.py oci|oci-archive|docker-archive OUT < image.json

image.json: {"ref": "app:1.0" (or a bare tag for an OCI layout), "config": {"Entrypoint": [...],
"Cmd": [...], "Env": [...], "WorkingDir": ..., "User": ..., "StopSignal": ...},
"layers": [[tar entries as make-tar.py takes them] or {"tar": PATH of an uncompressed layer}, ...], "compression": "gz"|"zst"|"",
"platforms": ["linux/amd64", "linux/arm64"] (an index with one manifest per platform, each
with the same layers), "corrupt": "layer"|"config" (a blob whose bytes do not match its digest),
"bareManifest": true (manifests without their own mediaType, as umoci writes them)}.
Prints the config digest (the image id)."""
import hashlib
import importlib.util
import io
import json
import os
import sys
import tarfile

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("make_tar", os.path.join(here, "make-tar.py"))
make_tar = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_tar)

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TYPES = {"": "application/vnd.oci.image.layer.v1.tar", "gz": "application/vnd.oci.image.layer.v1.tar+gzip",
               "zst": "application/vnd.oci.image.layer.v1.tar+zstd"}


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def build(image):
    """The blobs (digest -> bytes), the top descriptor, the config digest and the layer files."""
    blobs = {}
    compression = image.get("compression", "gz")
    def raw(layer):
        if isinstance(layer, dict):  # {"tar": PATH}: an existing uncompressed layer
            with open(layer["tar"], "rb") as f:
                return f.read()
        return make_tar.tar_bytes(layer)

    raws = [raw(layer) for layer in image["layers"]]
    stored = [make_tar.compress(raw, compression) for raw in raws]
    layer_descriptors = []
    for raw, data in zip(raws, stored):
        blobs[digest(data)] = data
        layer_descriptors.append({"mediaType": LAYER_TYPES[compression], "digest": digest(data), "size": len(data)})
    platforms = image.get("platforms") or ["linux/" + image.get("arch", host_arch())]
    manifests = []
    config_digest = None
    for platform in platforms:
        os_name, arch = platform.split("/")
        config = {"architecture": arch, "os": os_name, "config": image.get("config", {}),
                  "created": "2026-12-01T00:00:00Z",
                  "rootfs": {"type": "layers", "diff_ids": [digest(raw) for raw in raws]}}
        config_bytes = canonical(config)
        blobs[digest(config_bytes)] = config_bytes
        if config_digest is None or arch == host_arch():
            config_digest = digest(config_bytes)
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "digest": digest(config_bytes), "size": len(config_bytes)},
                    "layers": layer_descriptors}
        if image.get("bareManifest"):
            del manifest["mediaType"]  # as umoci writes them: the type only in the descriptor
        manifest_bytes = canonical(manifest)
        blobs[digest(manifest_bytes)] = manifest_bytes
        manifests.append({"mediaType": OCI_MANIFEST, "digest": digest(manifest_bytes), "size": len(manifest_bytes),
                          "platform": {"os": os_name, "architecture": arch}})
    if len(manifests) > 1:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        index_bytes = canonical(index)
        blobs[digest(index_bytes)] = index_bytes
        top = {"mediaType": OCI_INDEX, "digest": digest(index_bytes), "size": len(index_bytes)}
    else:
        top = dict(manifests[0])
        top.pop("platform")
    corrupt = image.get("corrupt")
    if corrupt == "layer":
        d = layer_descriptors[-1]["digest"]
        blobs[d] = blobs[d][:-1] + bytes([blobs[d][-1] ^ 1])
    elif corrupt == "config":
        blobs[config_digest] = blobs[config_digest].replace(b'"os":"linux"', b'"os":"LINUX"')
    return blobs, top, config_digest, raws


def host_arch():
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def write_layout(root, image, blobs, top):
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    for d, data in blobs.items():
        with open(os.path.join(root, "blobs", "sha256", d[7:]), "wb") as f:
            f.write(data)
    descriptor = dict(top)
    if image.get("ref"):
        descriptor["annotations"] = {"org.opencontainers.image.ref.name": image["ref"]}
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor]}, f)


def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_700_000_000
    tar.addfile(info, io.BytesIO(data))


def main():
    form, out = sys.argv[1], sys.argv[2]
    image = json.load(sys.stdin)
    blobs, top, config_digest, raws = build(image)
    if form == "oci":
        write_layout(out, image, blobs, top)
    elif form == "oci-archive":
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            write_layout(tmp, image, blobs, top)
            with tarfile.open(out, "w") as tar:
                tar.add(tmp, arcname=".")
    elif form == "docker-archive":
        # As `docker save` (before Docker 25): <id>.json, <n>/layer.tar (uncompressed), manifest.json.
        with tarfile.open(out, "w") as tar:
            config = blobs[config_digest]
            add(tar, config_digest[7:] + ".json", config)
            layers = []
            for i, raw in enumerate(raws):
                name = "%s/layer.tar" % hashlib.sha256(raw).hexdigest()
                if image.get("corrupt") == "layer" and i == len(raws) - 1:
                    raw = raw[:-1] + bytes([raw[-1] ^ 1])
                add(tar, name, raw)
                layers.append(name)
            tags = [image["ref"]] if image.get("ref") else []
            add(tar, "manifest.json", json.dumps([{"Config": config_digest[7:] + ".json", "RepoTags": tags, "Layers": layers}]).encode())
    else:
        sys.exit("make-image.py: unknown form " + form)
    print(config_digest)


if __name__ == "__main__":
    main()
