import Foundation
import PodTestSupport
import Testing

@testable import PodKit
@testable import PodLinux

#if canImport(Glibc)
import Glibc
#endif

extension RealLinux {
    /// The image store for real: images loaded in the forms people have (an OCI layout, an
    /// oci-archive, a `docker save` archive; made by Tests/Tools/make-image.py), their layers
    /// shared, their configs applied by the runtime.
    @Suite("Linux images for real", .serialized)
    struct LinuxImageTests {
        /// A store of its own, with the busybox layer, and a scratch directory for image files.
        final class Images {
            let env: LinuxPods
            let dir = LinuxTestSupport.scratch("image-files")
            let store: ImageStore
            let busyboxTar: String

            init() throws {
                env = try LinuxPods()
                store = ImageStore(directory: LinuxTestSupport.imageDir)
                let (_, busybox) = try #require(store.image(for: env.image))
                busyboxTar = try #require(store.blobPath(busybox.layers[0].blob))
            }

            deinit { LinuxTestSupport.remove(dir) }

            /// Writes the image `description` in `form` to `name`; the image id make-image.py gives.
            @discardableResult
            func make(_ form: String, _ name: String, _ description: [String: Any]) throws -> (path: String, id: String) {
                let path = dir + "/" + name
                let json = String(decoding: try JSONSerialization.data(withJSONObject: description), as: UTF8.self)
                let made = try Command.run(
                    "/usr/bin/env", ["python3", PackageLayout.root.path + "/Tests/Tools/make-image.py", form, path], stdin: json)
                guard made.status == 0 else { throw LayerArchiveTests.Failure(message: "make-image.py: \(made.stderr)") }
                return (path, made.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            }

            /// What the store holds, to compare before and after a refused load.
            func contents() -> [String] {
                ["blobs/sha256", "layers", "images", "tmp"].flatMap { sub in
                    ((try? FileManager.default.contentsOfDirectory(atPath: store.directory + "/" + sub)) ?? []).map { sub + "/" + $0 }
                }.sorted() + [LinuxSystem.readFile(store.refsFile)]
            }
        }

        /// Three layers: busybox, then a file and a directory, then a whiteout of the file, the
        /// directory made opaque with a new file; the config says how to run it.
        static func layered(ref: String) -> [String: Any] { layered(ref: ref, base: nil) }

        static func layered(ref: String, base: String?) -> [String: Any] {
            var layers: [Any] = []
            if let base { layers.append(["tar": base]) }
            layers.append([
                ["name": "etc/removed", "data": "old\n"], ["name": "opq/a", "data": "a\n"], ["name": "opq/b", "data": "b\n"],
            ])
            layers.append([
                ["name": "etc/.wh.removed"], ["name": "opq/.wh..wh..opq"], ["name": "opq/c", "data": "c\n"],
                ["name": "work/", "type": "dir", "mode": 0o777],
            ])
            return [
                "ref": ref, "compression": "gz", "layers": layers,
                "config": [
                    "Entrypoint": ["sh", "-c"],
                    "Cmd": [
                        "trap 'echo got-quit; exit 0' QUIT; ls /opq; test -e /etc/removed || echo removed-gone; echo $GREETING $MODE; pwd; id -u; id -g; echo ready; while true; do sleep 0.1; done"
                    ],
                    "Env": ["GREETING=from-image", "MODE=image", "PATH=/bin"], "WorkingDir": "/work", "User": "1000:1001",
                    "StopSignal": "SIGQUIT",
                ],
            ]
        }

        @Test func anOCILayoutRunsWithItsOwnConfigWhiteoutsAndOpaqueDirectories() throws {
            let images = try Images()
            let env = images.env
            let (layout, id) = try images.make("oci", "layout", Self.layered(ref: "layered:1.0", base: images.busyboxTar))
            let loaded = try images.store.load(layout)
            #expect(loaded.map(\.reference) == ["layered:1.0"] && loaded[0].id == id, "\(loaded)")
            #expect(loaded[0].layers.count == 3)
            defer { try? images.store.remove("layered:1.0") }
            // No command: the image's Entrypoint + Cmd, its Env under the container's, its
            // WorkingDir and User; the whiteout hides the file, the opaque directory its old entries.
            let pod = try env.runtime.run(
                PodSpec(
                    name: "layered",
                    containers: [ContainerSpec(name: "app", image: "layered:1.0", env: [EnvVar(name: "MODE", value: "container")])]))
            let ready = try env.runtime.wait("layered", timeout: 30) { _ in
                (try? env.runtime.logs("layered", container: "app"))?.contains("ready") == true
            }
            #expect(ready == .satisfied)
            let log = try env.runtime.logs("layered", container: "app")
            #expect(log == "c\nremoved-gone\nfrom-image container\n/work\n1000\n1001\nready\n", "\(log)")
            let pulled = try pod.events().filter { $0.reason == "Pulled" }.map(\.message)
            #expect(pulled == ["Container image \"layered:1.0\" already present on machine"], "\(pulled)")
            // The image's StopSignal (QUIT, which the script traps) ends it at once and cleanly.
            try pod.stop()
            #expect(try env.runtime.logs("layered", container: "app").hasSuffix("got-quit\n"))
            guard case .terminated(let end) = try pod.status().containers[0].state else {
                Issue.record("not terminated")
                return
            }
            #expect(end.exitCode == 0, "\(end)")
            env.closeAndCheck()
        }

        /// The lower directories of the root overlay a process sees (its mountinfo's `lowerdir=`).
        static func lowerDirectories(pid: Int) -> [String] {
            let mountinfo = LinuxSystem.readFile("/proc/\(pid)/mountinfo")
            guard let root = mountinfo.split(separator: "\n").first(where: { $0.split(separator: " ").dropFirst(4).first == "/" }),
                let options = root.split(separator: " ").last
            else { return [] }
            let lower = options.split(separator: ",").first { $0.hasPrefix("lowerdir=") }
            return lower.map { $0.dropFirst(9).split(separator: ":").map(String.init) } ?? []
        }

        @Test func twoPodsOnOneImageShareItsLayerDirectories() throws {
            let images = try Images()
            let env = images.env
            let (layout, _) = try images.make("oci", "shared", Self.layered(ref: "shared:1", base: images.busyboxTar))
            try images.store.load(layout)
            defer { try? images.store.remove("shared:1") }
            var inodes: [[String]] = []
            for name in ["one", "two"] {
                let pod = try env.runtime.run(
                    PodSpec(name: name, containers: [ContainerSpec(name: "c", image: "shared:1", command: ["sleep", "3600"])]))
                #expect(try pod.wait(phase: .running) == .satisfied)
                guard case .running(_, let pid) = try pod.status().containers[0].state else { continue }
                let dirs = Self.lowerDirectories(pid: pid)
                #expect(dirs.count == 4, "\(dirs)")  // the mount points, then three layers top first
                inodes.append(
                    dirs.map { dir in
                        var info = stat()
                        return stat(dir, &info) == 0 ? "\(info.st_dev):\(info.st_ino)" : "missing \(dir)"
                    })
            }
            #expect(inodes.count == 2 && inodes[0] == inodes[1] && !inodes[0].contains { $0.hasPrefix("missing") }, "\(inodes)")
            env.closeAndCheck()
        }

        @Test func pruneKeepsTheLayersOfARunningContainerWhoseImageWasRemoved() throws {
            let images = try Images()
            let env = images.env
            let (layout, _) = try images.make(
                "oci", "doomed", ["ref": "doomed:1", "layers": [["tar": images.busyboxTar], [["name": "mark", "data": "still here\n"]]]])
            try images.store.load(layout)
            let pod = try env.runtime.run(
                PodSpec(name: "doomed", containers: [ContainerSpec(name: "c", image: "doomed:1", command: ["sleep", "3600"])]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            let top = try #require(try images.store.lowerDirectories(for: "doomed:1").dropFirst().first)
            try images.store.remove("doomed:1")
            try images.store.prune()
            #expect(LinuxSystem.readFile(top + "/mark") == "still here\n")
            #expect(try pod.exec("c", ["cat", "/mark"]).stdout == "still here\n")
            try pod.remove()
            // Once nothing mounts it, it goes (the busybox layer stays: the busybox image has it).
            try images.store.prune()
            #expect(access(top, F_OK) != 0)
            #expect(images.store.image(for: env.image) != nil)
            env.closeAndCheck()
        }

        /// 120 layers: more lower directories than one page of mount(2) options holds, so the
        /// overlay is made with fsconfig's lowerdir+ (Linux 6.8+); prune reads those mounts too.
        @Test func anImageOfAHundredAndTwentyLayersMountsAndPruneKeepsThem() throws {
            var name = utsname()
            uname(&name)
            let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let version = release.split(separator: ".").prefix(2).compactMap { Int($0.prefix { $0.isNumber }) }
            guard version.count == 2, (version[0], version[1]) >= (6, 8) else {
                print("skip: 120 layers: Linux \(release) has no fsconfig lowerdir+ (6.8+)")
                return
            }
            let images = try Images()
            let env = images.env
            var layers: [Any] = [["tar": images.busyboxTar]]
            for i in 1..<120 { layers.append([["name": "f\(i)", "data": "\(i)\n"]]) }
            let (layout, _) = try images.make("oci", "many", ["ref": "many:1", "layers": layers])
            try images.store.load(layout)
            let lower = try images.store.lowerDirectories(for: "many:1")
            #expect(lower.count == 121, "the mount-point layer and 120")
            let pod = try env.runtime.run(
                PodSpec(name: "many", containers: [ContainerSpec(name: "c", image: "many:1", command: ["sleep", "3600"])]))
            guard try pod.wait(phase: .running) == .satisfied else {
                Issue.record("not running: \(try pod.events().map(\.message))")
                return
            }
            #expect(try pod.exec("c", ["cat", "/f1", "/f60", "/f119"]).stdout == "1\n60\n119\n")
            try images.store.remove("many:1")
            try images.store.prune()
            #expect(lower.allSatisfy { access($0, F_OK) == 0 }, "a running container's layers stay")
            try pod.remove()
            try images.store.prune()
            #expect(lower.dropFirst().dropLast().allSatisfy { access($0, F_OK) != 0 }, "then they go (busybox's stays: the busybox image has it)")
            env.closeAndCheck()
        }

        /// Two processes loading one image at once: one layer directory, both tags, no staging left.
        @Test func concurrentLoadsOfOneImageShareOneLayer() throws {
            let images = try Images()
            guard let podsh = PackageLayout.builtProduct("podsh") else {
                print("skip: concurrent loads: podsh is not built next to the tests")
                return
            }
            let content = [[["name": "concurrent", "data": String(repeating: "layer bytes ", count: 50_000)]]]
            let one = try images.make("oci", "one", ["ref": "together:1", "layers": content])
            let two = try images.make("oci", "two", ["ref": "together:2", "layers": content])
            let before = Set(LinuxSystem.entries(of: images.store.layersDir).map(\.name))
            // Two podsh processes started together (Foundation's Process: no shell in between).
            let loads = [one.path, two.path].map { path -> Foundation.Process in
                let process = Foundation.Process()
                process.executableURL = URL(fileURLWithPath: podsh)
                process.arguments = ["image", "load", path, "--image-dir", images.store.directory]
                process.standardOutput = FileHandle.nullDevice
                return process
            }
            for load in loads { try load.run() }
            for load in loads { load.waitUntilExit() }
            #expect(loads.allSatisfy { $0.terminationStatus == 0 })
            defer {
                try? images.store.remove("together:1")
                try? images.store.remove("together:2")
                _ = try? images.store.prune()
            }
            let added = Set(LinuxSystem.entries(of: images.store.layersDir).map(\.name)).subtracting(before)
            #expect(added.count == 2, "\(added)")  // one directory and its record
            #expect(images.store.image(for: "together:1")?.image.layers == images.store.image(for: "together:2")?.image.layers)
            #expect(LinuxSystem.entries(of: images.store.tmpDir).isEmpty)
        }

        @Test func dockerSaveAndOCIArchivesLoadAndAnIndexGivesThisMachinesPlatform() throws {
            let images = try Images()
            let docker = try images.make("docker-archive", "saved.tar", Self.layered(ref: "saved:2", base: images.busyboxTar))
            let archive = try images.make(
                "oci-archive", "multi.tar",
                [
                    "ref": "multi:3", "compression": "zst", "platforms": ["linux/arm64", "linux/amd64", "linux/riscv64"],
                    "config": ["Cmd": ["true"]], "layers": [[["name": "hello", "data": "zstd layer\n"]]],
                ])
            defer {
                try? images.store.remove("saved:2")
                try? images.store.remove("multi:3")
            }
            let saved = try images.store.load(docker.path)
            #expect(saved.map(\.reference) == ["saved:2"] && saved[0].id == docker.id, "\(saved)")
            // Its layers' diff ids are those of the OCI layout's of the same content: shared.
            let multi = try images.store.load(archive.path)
            #expect(multi.map(\.reference) == ["multi:3"] && multi[0].id == archive.id, "\(multi) \(archive.id)")
            let (_, image) = try #require(images.store.image(for: "multi:3"))
            let dir = try #require(try images.store.lowerDirectories(for: "multi:3").last)
            #expect(LinuxSystem.readFile(dir + "/hello") == "zstd layer\n")
            #expect(image.config.cmd == ["true"])
            // A platform the index does not have is a clear error.
            let none = try images.make(
                "oci", "elsewhere",
                ["ref": "elsewhere:1", "platforms": ["linux/s390x", "linux/mips64le"], "layers": [[["name": "x", "data": "x"]]]])
            do {
                try images.store.load(none.path)
                Issue.record("an index without this platform was loaded")
            } catch {
                #expect(
                    "\(error)".contains("no manifest for linux/\(ImageStore.hostArchitecture) (the index has linux/s390x, linux/mips64le)"),
                    "\(error)")
            }
            #expect(LinuxSystem.entries(of: images.store.tmpDir).isEmpty)
        }

        @Test(arguments: ["oci", "docker-archive"])
        func aBlobWithTheWrongDigestIsRefusedAndNothingIsKept(form: String) throws {
            let images = try Images()
            _ = try images.store.prune()
            let before = images.contents()
            let bad = try images.make(
                form, "bad-\(form)",
                [
                    "ref": "bad:1", "corrupt": "layer",
                    "layers": [[["name": "x", "data": "good data\n"]], [["name": "y", "data": "more\n"]]],
                ])
            do {
                try images.store.load(bad.path)
                Issue.record("a corrupt image was loaded")
            } catch {
                let text = "\(error)"
                #expect(text.contains("refused"), "\(text)")
            }
            #expect(images.store.image(for: "bad:1") == nil)
            // Nothing of the refused load is kept: not the good layer stored before the bad one,
            // not its staging (no prune needed).
            #expect(images.contents() == before)
        }
    }
}

/// runc's rules for an image's User, against an image's /etc/passwd and /etc/group.
@Suite("Image users")
struct ImageUserTests {
    @Test func namesComeFromTheTopLayerThatHasTheFiles() throws {
        let top = LinuxTestSupport.scratch("user-top"), bottom = LinuxTestSupport.scratch("user-bottom")
        defer {
            LinuxTestSupport.remove(top)
            LinuxTestSupport.remove(bottom)
        }
        for dir in [top, bottom] { try FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true) }
        try "root:x:0:0::/root:/bin/sh\nwww:x:33:34::/var/www:/bin/false\n".write(
            toFile: top + "/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\nwww:x:34:\nweb:x:50:www,other\nlog:x:60:www\n".write(toFile: top + "/etc/group", atomically: true, encoding: .utf8)
        try "ghost:x:7:7::/:/bin/sh\n".write(toFile: bottom + "/etc/passwd", atomically: true, encoding: .utf8)
        let lower = [top, bottom]
        #expect(try ImageUser.resolve("www", lower: lower) == ImageUser(uid: 33, gid: 34, groups: [34, 50, 60]))
        #expect(try ImageUser.resolve("www:web", lower: lower) == ImageUser(uid: 33, gid: 50, groups: [50, 60]))
        #expect(try ImageUser.resolve("33", lower: lower) == ImageUser(uid: 33, gid: 34, groups: [34, 50, 60]))
        #expect(try ImageUser.resolve("1000", lower: lower) == ImageUser(uid: 1000, gid: 0, groups: [0]))
        #expect(try ImageUser.resolve("1000:1001", lower: lower) == ImageUser(uid: 1000, gid: 1001, groups: [1001]))
        // The top layer's passwd hides the bottom one's.
        #expect(throws: BackendError.self) { try ImageUser.resolve("ghost", lower: lower) }
        do {
            _ = try ImageUser.resolve("www:nogroup", lower: lower)
            Issue.record("an unknown group was accepted")
        } catch {
            #expect(error.message == "unable to find group nogroup: no matching entries in group file")
        }
    }
}
