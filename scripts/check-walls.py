#!/usr/bin/env python3
"""Checks that the package's dependency graph has the shape of the architecture's walls
(Sources/PodCore/PodCore.docc/Architecture.md): which target may depend on which, and that
every `import` of one of our modules in a target's sources is a dependency it declares (SwiftPM
lets a target import a module it only reaches through another, so the declared graph alone
would not keep the walls).

    scripts/check-walls.py            check this package (runs `swift package describe`)
    scripts/check-walls.py --self-test  show that a forbidden arrow is caught

Exit 0 when the graph keeps the walls, 1 with one line per breach.
"""
import json
import os
import re
import subprocess
import sys

# target -> the dependencies it may have (targets and products). Anything else is a breach.
ALLOWED = {
    # The core: spec, status, planning, the backend protocol, the runtime, resource math.
    "PodKit": set(),
    # Backends: the core, and for linux its C; never each other.
    "PodSim": {"PodKit"},
    "PodLinux": {"PodKit", "CPodSpawn", "CImageLibs"},
    # Kubernetes manifests: the core and a YAML library.
    "PodManifests": {"PodKit", "Yams"},
    # The registry: the one place that names backends.
    "PodBackends": {"PodKit", "PodSim", "PodLinux"},
    # The umbrella users import: the core and the embedded default.
    "PodCore": {"PodKit", "PodSim"},
    # The Lua bindings: the core, manifests, the registry, the Lua shims, and the sim's program
    # API for pod.sim.program (found through a capability, never by naming the backend).
    "PodLua": {"PodKit", "PodManifests", "PodBackends", "PodSim", "CLua", "CLuaShim"},
    # podsh: everything but the C spawn code.
    "podsh": {"PodCore", "PodKit", "PodSim", "PodManifests", "PodBackends", "PodLinux", "PodLua",
              "PodshLine", "ArgumentParser"},
    "PodshLine": {"CEditline"},
    "CLuaShim": {"CLua"},
    "CPodSpawn": set(),
    # The image store's C: libarchive and libcrypto by dlopen, layer extraction.
    "CImageLibs": set(),
    "CLua": set(),
    "CEditline": set(),
    # Helpers the test targets share (Foundation only).
    "PodTestSupport": set(),
}

# Modules of the platform a target may import without declaring them, per target.
PLATFORM = {"Glibc", "Musl", "Darwin", "Foundation", "Dispatch", "Synchronization", "_Concurrency", "Testing", "XCTest"}
# Platform modules the core and the sim must not import: they are pure Swift.
PURE = {"PodKit", "PodSim"}

IMPORT = re.compile(r"^\s*(?:@[A-Za-z_]+(?:\([^)]*\))?\s+)*import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.M)


def breaches(targets, sources):
    """targets: name -> {"type", "deps"}; sources: name -> {file: text}. Returns breach lines."""
    ours = set(targets)
    out = []
    for name, target in sorted(targets.items()):
        deps = set(target["deps"])
        if target["type"] in ("test", "executable") and name not in ALLOWED:
            # Tests and tools may use anything but must still import only what they declare.
            allowed = None
        elif name not in ALLOWED:
            out.append(f"{name}: a target the walls do not know (add it to scripts/check-walls.py and the architecture article)")
            continue
        else:
            allowed = ALLOWED[name]
        if allowed is not None:
            for dep in sorted(deps - allowed):
                out.append(f"{name} -> {dep}: not allowed (allowed: {', '.join(sorted(allowed)) or 'nothing'})")
        for path, text in sorted(sources.get(name, {}).items()):
            for match in IMPORT.finditer(text):
                module = match.group(1)
                line = text.count("\n", 0, match.start()) + 1
                if module in PLATFORM:
                    if name in PURE and module not in {"_Concurrency", "Synchronization"}:
                        out.append(f"{path}:{line}: {name} imports {module}: the core and the sim are pure Swift")
                    continue
                if module not in deps and (module in ours or module in {"Yams", "ArgumentParser"}):
                    out.append(f"{path}:{line}: {name} imports {module}, which it does not declare")
    return out


def describe():
    text = subprocess.run(["swift", "package", "describe", "--type", "json"], check=True,
                          capture_output=True, text=True).stdout
    package = json.loads(text[text.index("{"):])
    targets, sources = {}, {}
    for t in package["targets"]:
        deps = t.get("target_dependencies", []) + t.get("product_dependencies", [])
        targets[t["name"]] = {"type": t.get("type", ""), "deps": deps}
        files = {}
        for f in t.get("sources", []):
            if f.endswith(".swift"):
                p = os.path.join(t["path"], f)
                with open(p, encoding="utf-8") as handle:
                    files[p] = handle.read()
        sources[t["name"]] = files
    return targets, sources


def self_test():
    targets, sources = describe()
    problems = breaches(targets, sources)
    if problems:
        print("self-test: the package itself breaks the walls:\n  " + "\n  ".join(problems))
        return 1
    cases = {
        "the core depends on the linux backend": lambda t, s: t["PodKit"]["deps"].append("PodLinux"),
        "the sim depends on the linux backend": lambda t, s: t["PodSim"]["deps"].append("PodLinux"),
        "the bindings import the C spawn code": lambda t, s: s["PodLua"].update({"x.swift": "import CPodSpawn\n"}),
        "the core imports Yams": lambda t, s: s["PodKit"].update({"x.swift": "import Yams\n"}),
        "the core imports Glibc": lambda t, s: s["PodKit"].update({"x.swift": "#if canImport(Glibc)\nimport Glibc\n#endif\n"}),
        "podsh depends on the C spawn code": lambda t, s: t["podsh"]["deps"].append("CPodSpawn"),
        "the bindings import linux without declaring it": lambda t, s: s["PodLua"].update({"x.swift": "@testable import PodLinux\n"}),
    }
    failed = 0
    for what, mutate in cases.items():
        t = json.loads(json.dumps(targets))
        s = {k: dict(v) for k, v in sources.items()}
        mutate(t, s)
        found = breaches(t, s)
        print(f"{'ok' if found else 'MISSED'}: {what}" + (f" -> {found[0]}" if found else ""))
        failed += 0 if found else 1
    return 1 if failed else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if sys.argv[1:]:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    problems = breaches(*describe())
    for p in problems:
        print("walls: " + p)
    if not problems:
        print("walls: the dependency graph keeps the walls")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
