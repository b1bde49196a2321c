// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-pods",
    products: [
        .library(name: "PodCore", targets: ["PodCore"]),
        .library(name: "PodLua", targets: ["PodLua"]),
        // libpod.so: the Lua C module for the stock interpreter (`require "pod"`).
        .library(name: "pod", type: .dynamic, targets: ["PodLua"]),
        .executable(name: "podsh", targets: ["podsh"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `swift package generate-documentation`: the DocC catalogs (no code of it is linked).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // The Linux backend's fork-to-exec work, in C (no Swift may run in the child). The
        // pause and the port forwarder are programs of their own (Tools/infra, embedded as
        // infra_images.h by scripts/make-infra.sh).
        .target(name: "CPodSpawn"),
        // The image store's C half: libarchive and libcrypto by dlopen at first use (a podsh
        // that touches no image does not load them), and layer extraction that never writes
        // outside its layer.
        .target(name: "CImageLibs"),
        // The walls of PodCore.docc/Architecture.md (scripts/check-walls.py checks this graph in CI):
        // the core knows no backend, no Yams and no Lua; backends never import each other;
        // PodBackends is the one place that names backends.
        .target(name: "PodKit"),
        .target(name: "PodSim", dependencies: ["PodKit"]),
        .target(name: "PodLinux", dependencies: ["PodKit", "CPodSpawn", "CImageLibs"]),
        .target(name: "PodManifests", dependencies: ["PodKit", .product(name: "Yams", package: "Yams")]),
        .target(name: "PodBackends", dependencies: ["PodKit", "PodSim", "PodLinux"]),
        // The umbrella users import: the core and the embedded default (the sim).
        .target(name: "PodCore", dependencies: ["PodKit", "PodSim"]),
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]
        ),
        .target(
            name: "CLuaShim",
            dependencies: ["CLua"]
        ),
        .target(
            name: "PodLua",
            dependencies: ["PodKit", "PodManifests", "PodBackends", "PodSim", "CLua", "CLuaShim"]
        ),
        .systemLibrary(
            name: "CEditline",
            pkgConfig: "libedit",
            providers: [.apt(["libedit-dev"])]
        ),
        .target(name: "PodshLine", dependencies: ["CEditline"]),
        .executableTarget(
            name: "podsh",
            dependencies: [
                "PodCore", "PodKit", "PodManifests", "PodBackends", "PodLinux", "PodLua", "PodshLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "sim-pod-bench", dependencies: ["PodCore"], path: "Benchmarks/SimPodBench"),
        .executableTarget(name: "lua-bridge-bench", dependencies: ["PodLua"], path: "Benchmarks/LuaBridgeBench"),
        // Fuzz targets (make fuzz): libFuzzer with -DFUZZING, a corpus replayer without.
        .executableTarget(
            name: "pod-fuzz", dependencies: ["PodKit", "PodManifests", "PodSim", "PodLua", "PodLinux"], path: "Fuzz/PodFuzz"),
        .executableTarget(name: "linux-pod-bench", dependencies: ["PodKit", "PodLinux"], path: "Benchmarks/LinuxPodBench"),
        .executableTarget(name: "lua-leak-check", dependencies: ["PodLua"], path: "Tests/Tools/LuaLeakCheck"),
        // What the test targets share: running programs, scratch directories, the package's layout.
        .target(name: "PodTestSupport", path: "Tests/Support"),
        .testTarget(
            name: "PodCoreTests",
            dependencies: [
                "PodCore", "PodKit", "PodSim", "PodLinux", "PodManifests", "PodBackends", "CPodSpawn", "PodTestSupport",
            ]),
        .testTarget(name: "PodLuaTests", dependencies: ["PodLua", "PodKit", "PodSim", "CLua", "CLuaShim", "PodTestSupport"]),
        .testTarget(name: "podshTests", dependencies: ["PodTestSupport", "PodLinux"]),
    ],
    swiftLanguageModes: [.v6]
)
