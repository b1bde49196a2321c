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
    ],
    targets: [
        // The Linux backend's fork-to-exec work, in C (no Swift may run in the child). The
        // pause and the port forwarder are programs of their own (Tools/infra, embedded as
        // infra_images.h by scripts/make-infra.sh).
        .target(name: "CPodSpawn"),
        .target(
            name: "PodCore",
            dependencies: ["CPodSpawn", .product(name: "Yams", package: "Yams")]
        ),
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
            dependencies: ["PodCore", "CLua", "CLuaShim"]
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
                "PodCore", "PodLua", "PodshLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "sim-pod-bench", dependencies: ["PodCore"], path: "Benchmarks/SimPodBench"),
        .executableTarget(name: "lua-bridge-bench", dependencies: ["PodLua"], path: "Benchmarks/LuaBridgeBench"),
        .executableTarget(name: "linux-pod-bench", dependencies: ["PodCore"], path: "Benchmarks/LinuxPodBench"),
        .executableTarget(name: "lua-leak-check", dependencies: ["PodLua"], path: "Tests/Tools/LuaLeakCheck"),
        .testTarget(name: "PodCoreTests", dependencies: ["PodCore", "CPodSpawn"]),
        .testTarget(name: "PodLuaTests", dependencies: ["PodLua"]),
        .testTarget(name: "podshTests"),
    ],
    swiftLanguageModes: [.v6]
)
