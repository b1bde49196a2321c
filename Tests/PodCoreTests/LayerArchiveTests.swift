import Foundation
import PodTestSupport
import Testing

@testable import PodLinux

#if canImport(Glibc)
import Glibc
#endif

/// Layer extraction with crafted archives (Tests/Tools/make-tar.py writes what no honest tool
/// does): every hostile archive is refused with the entry named, and a walk of the whole scratch
/// tree proves nothing landed outside the layer directory.
@Suite("Layer archives", .serialized)
struct LayerArchiveTests {
    static var unavailable: String? {
        if geteuid() != 0 { return "needs root (owners, devices, trusted.* xattrs)" }
        var error = [CChar](repeating: 0, count: 256)
        if podimageLoad(&error) != 0 { return String(cString: error) }
        return nil
    }

    static func podimageLoad(_ error: inout [CChar]) -> Int32 {
        LayerArchive.loadLibraries(&error)
    }

    static func require() throws {
        if let reason = unavailable {
            print("skip: layer archives: \(reason)")
            try Test.cancel("layer archives: \(reason)")
        }
    }

    /// A scratch "host": the archive, the store's layer directory, and a directory outside the
    /// layer that hostile entries aim at.
    struct Host {
        let root = Scratch.directory("layer-host")
        var layer: String { root + "/store/layer" }
        var outside: String { root + "/outside" }
        var archives: String { root + "/archives" }

        init() throws {
            for dir in [layer, outside, archives] {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            }
            try "secret\n".write(toFile: outside + "/secret", atomically: false, encoding: .utf8)
        }

        /// Writes the archive of `entries` (JSON-able dictionaries) as `name`.
        func archive(_ name: String, _ entries: [[String: Any]]) throws -> String {
            let path = archives + "/" + name
            let json = String(decoding: try JSONSerialization.data(withJSONObject: entries), as: UTF8.self)
            let made = try Command.run(
                "/usr/bin/env", ["python3", PackageLayout.root.path + "/Tests/Tools/make-tar.py", path], stdin: json)
            guard made.status == 0 else { throw Failure(message: "make-tar.py: \(made.stderr)") }
            return path
        }

        /// Every path below the scratch root that is neither in the layer nor one of the test's own.
        func strays() -> [String] {
            var out: [String] = []
            let own: Set<String> = [root + "/store", layer, outside, outside + "/secret", archives]
            guard let walker = FileManager.default.enumerator(atPath: root) else { return ["cannot walk \(root)"] }
            while let relative = walker.nextObject() as? String {
                let path = root + "/" + relative
                if own.contains(path) || path.hasPrefix(layer + "/") || path.hasPrefix(archives + "/") { continue }
                out.append(path)
            }
            if (try? String(contentsOfFile: outside + "/secret", encoding: .utf8)) != "secret\n" { out.append("outside/secret changed") }
            return out
        }

        func remove() { Scratch.remove(root) }
    }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// An extended attribute's value (Python's os.getxattr: the Glibc module has no getxattr).
    static func xattr(_ path: String, _ name: String) throws -> String {
        let script = "import os, sys; sys.stdout.write(os.getxattr(sys.argv[1], sys.argv[2]).decode())"
        return try Command.run("/usr/bin/env", ["python3", "-c", script, path, name]).stdout
    }

    static func stat(_ path: String) -> stat? {
        var info = Glibc.stat()
        return lstat(path, &info) == 0 ? info : nil
    }

    @Test func aGoodLayerUnpacksAsTheImageSays() throws {
        try Self.require()
        let host = try Host()
        defer { host.remove() }
        let entries: [[String: Any]] = [
            ["name": "./", "type": "dir"],
            ["name": "bin/", "type": "dir", "mode": 0o755],
            ["name": "bin/tool", "data": "#!/bin/sh\n", "mode": 0o4755, "uid": 0],
            ["name": "home/user/notes", "data": "mine\n", "mode": 0o600, "uid": 1000, "gid": 1001],
            ["name": "bin/sh", "type": "symlink", "target": "/bin/busybox"],
            ["name": "bin/same", "type": "hardlink", "target": "bin/tool"],
            ["name": "dev/null", "type": "char", "major": 1, "minor": 3, "mode": 0o666],
            ["name": "run/pipe", "type": "fifo", "mode": 0o600],
            ["name": ".wh.gone", "type": "file"],
            ["name": "opq/.wh..wh..opq", "type": "file"],
            ["name": "etc/tagged", "data": "x", "xattrs": ["user.origin": "image"]],
            ["name": "etc/replaced", "data": "first"],
            ["name": "etc/replaced", "type": "symlink", "target": "elsewhere"],
        ]
        let tar = try host.archive("good.tar", entries)
        let result = try LayerArchive.extract(tar, into: host.layer)
        let plain = try LayerArchive.digest(ofFile: tar)
        #expect(result.blobDigest == plain.digest && result.diffID == plain.digest && result.blobBytes == plain.bytes)
        #expect(result.entries == entries.count)
        let layer = host.layer
        let tool = try #require(Self.stat(layer + "/bin/tool"))
        #expect(tool.st_mode & 0o7777 == 0o4755 && tool.st_nlink == 2)
        #expect(Self.stat(layer + "/bin/same")?.st_ino == tool.st_ino)
        let notes = try #require(Self.stat(layer + "/home/user/notes"))
        #expect(notes.st_uid == 1000 && notes.st_gid == 1001 && notes.st_mode & 0o777 == 0o600)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: layer + "/bin/sh") == "/bin/busybox")
        let null = try #require(Self.stat(layer + "/dev/null"))
        #expect(null.st_mode & S_IFMT == S_IFCHR && null.st_rdev == 0x103)  // makedev(1, 3)
        #expect(Self.stat(layer + "/run/pipe").map { $0.st_mode & S_IFMT == S_IFIFO } == true)
        // The whiteout is an overlay whiteout, the opaque marker an xattr; neither file remains.
        let gone = try #require(Self.stat(layer + "/gone"))
        #expect(gone.st_mode & S_IFMT == S_IFCHR && gone.st_rdev == 0)
        #expect(Self.stat(layer + "/.wh.gone") == nil && Self.stat(layer + "/opq/.wh..wh..opq") == nil)
        #expect(try Self.xattr(layer + "/opq", "trusted.overlay.opaque") == "y")
        #expect(try Self.xattr(layer + "/etc/tagged", "user.origin") == "image")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: layer + "/etc/replaced") == "elsewhere")
        #expect(host.strays() == [])
    }

    @Test(arguments: ["gz", "zst", "xz"])
    func compressedLayersGiveTheirDiffID(suffix: String) throws {
        try Self.require()
        let host = try Host()
        defer { host.remove() }
        let entries: [[String: Any]] = [["name": "a/b", "data": String(repeating: "layer ", count: 10_000)]]
        let tar = try host.archive("plain.tar", entries)
        let compressed = try host.archive("layer.tar.\(suffix)", entries)
        let result = try LayerArchive.extract(compressed, into: host.layer)
        #expect(result.diffID == (try LayerArchive.digest(ofFile: tar)).digest)
        #expect(result.blobDigest == (try LayerArchive.digest(ofFile: compressed)).digest)
        #expect(result.blobBytes < result.diffBytes)
        #expect((try? String(contentsOfFile: host.layer + "/a/b", encoding: .utf8))?.count == 60_000)
    }

    /// Each case: the entries, the entry the refusal must name, and what it must say.
    static func hostile(outside: String) -> [(String, [[String: Any]], String, String)] {
        [
            ("dot-dot", [["name": "../escape", "data": "x"]], "../escape", "has a \"..\" component"),
            ("absolute", [["name": "/abs-escape", "data": "x"]], "/abs-escape", "is an absolute path"),
            ("inner dot-dot", [["name": "a/../../escape", "data": "x"]], "a/../../escape", "\"..\""),
            ("dot slash dot-dot", [["name": "./../escape", "data": "x"]], "./../escape", "\"..\""),
            (
                "symlinked parent (absolute)",
                [["name": "link", "type": "symlink", "target": outside], ["name": "link/planted", "data": "x"]],
                "link/planted", "its parent \"link\" is a symlink"
            ),
            (
                "symlinked parent (relative)",
                [["name": "link", "type": "symlink", "target": "../../outside"], ["name": "link/planted", "data": "x"]],
                "link/planted", "is a symlink"
            ),
            (
                "symlinked grandparent",
                [
                    ["name": "d/", "type": "dir"], ["name": "d/l", "type": "symlink", "target": outside], ["name": "d/l/x/y", "data": "x"],
                ],
                "d/l/x/y", "its parent \"l\" is a symlink"
            ),
            (
                "hardlink out (dot-dot)",
                [["name": "h", "type": "hardlink", "target": "../../outside/secret"]], "h", "its hardlink target has a \"..\""
            ),
            (
                "hardlink out (absolute)",
                [["name": "h", "type": "hardlink", "target": outside + "/secret"]], "h", "its hardlink target is an absolute path"
            ),
            ("hardlink to nothing", [["name": "h", "type": "hardlink", "target": "missing"]], "h", "is not in the layer"),
            (
                "hardlink through a symlink",
                [["name": "s", "type": "symlink", "target": outside], ["name": "h", "type": "hardlink", "target": "s/secret"]], "h",
                "goes through a symlink"
            ),
            (
                "hardlink to a directory",
                [["name": "d/", "type": "dir"], ["name": "h", "type": "hardlink", "target": "d"]], "h", "is a directory"
            ),
            (
                "trusted xattr",
                [["name": "f", "data": "x", "xattrs": ["trusted.overlay.redirect": "/etc"]]], "f", "trusted.* is refused"
            ),
            ("empty whiteout", [["name": "d/.wh.", "data": ""]], "d/.wh.", "a whiteout that names nothing"),
            (
                "whiteout through a symlink",
                [["name": "w", "type": "symlink", "target": outside], ["name": "w/.wh.secret", "data": ""]], "w/.wh.secret",
                "is a symlink"
            ),
            (
                "opaque through a symlink",
                [["name": "w", "type": "symlink", "target": outside], ["name": "w/.wh..wh..opq", "data": ""]], "w/.wh..wh..opq",
                "is a symlink"
            ),
            (
                "file over a full directory",
                [["name": "d/x", "data": "x"], ["name": "d", "data": "y"]], "d", "replaces a directory that is not empty"
            ),
            (
                "file below a file", [["name": "f", "data": "x"], ["name": "f/x", "data": "y"]], "f/x",
                "its parent \"f\" is not a directory"
            ),
            ("overlong path", [["name": String(repeating: "p/", count: 2100) + "f", "data": "x"]], "p/p/p", "is longer than 4095 bytes"),
            ("overlong component", [["name": String(repeating: "n", count: 300), "data": "x"]], "nnnn", "longer than 255 bytes"),
        ]
    }

    @Test func hostileArchivesAreRefusedNamingTheEntryAndLeaveNothingOutside() throws {
        try Self.require()
        let probe = try Host()
        let cases = Self.hostile(outside: probe.outside)
        probe.remove()
        #expect(cases.count >= 15)
        for (label, entries, entry, reason) in cases {
            let host = try Host()
            defer { host.remove() }
            let tar = try host.archive("hostile.tar", entries)
            do {
                _ = try LayerArchive.extract(tar, into: host.layer)
                Issue.record("\(label): accepted")
            } catch {
                #expect(error.message.hasPrefix("layer entry \"\(entry)"), "\(label): \(error.message)")
                #expect(error.message.contains(reason), "\(label): \(error.message)")
            }
            #expect(host.strays() == [], "\(label)")
            #expect(Self.stat("/abs-escape") == nil, "\(label)")
        }
    }

    @Test func aBrokenArchiveIsAnErrorNotACrash() throws {
        try Self.require()
        let host = try Host()
        defer { host.remove() }
        let garbage = host.archives + "/garbage"
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: URL(fileURLWithPath: garbage))
        #expect(throws: (any Error).self) { try LayerArchive.extract(garbage, into: host.layer) }
        // A gzip layer cut in half.
        let whole = try host.archive("whole.tar.gz", [["name": "big", "data": String(repeating: "0123456789", count: 50_000)]])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: whole))
        let cut = host.archives + "/cut.tar.gz"
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        do {
            _ = try LayerArchive.extract(cut, into: host.layer)
            Issue.record("a truncated layer was accepted")
        } catch {
            #expect(error.message.contains("broken"), "\(error.message)")
        }
        let empty = host.archives + "/empty"
        FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(throws: (any Error).self) { try LayerArchive.extract(empty, into: host.layer) }
        #expect(host.strays() == [])
    }

    /// A layer file still being written (a pull's partial blob) is unpacked as it grows: the
    /// first entry is out before the second half is written, and the digests are the whole
    /// file's; an abort stops the extraction with an error, writing nothing outside.
    @Test func aGrowingFileIsUnpackedAsItComesAndAnAbortStopsIt() throws {
        try Self.require()
        let host = try Host()
        defer { host.remove() }
        var random = [UInt8](repeating: 0, count: 1 << 20)
        for i in random.indices { random[i] = UInt8(truncatingIfNeeded: (i &* 2_654_435_761) >> 13) }
        let noise = host.archives + "/noise"
        try Data(random).write(to: URL(fileURLWithPath: noise))
        let whole = try host.archive("growing.tar.gz", [["name": "first", "data": "first\n"], ["name": "noise", "file": noise]])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: whole)))
        for aborting in [false, true] {
            LinuxSystem.removeTree(host.layer)
            try FileManager.default.createDirectory(atPath: host.layer, withIntermediateDirectories: true)
            let growing = host.archives + "/growing-\(aborting)"
            let writer = open(growing, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            let reader = open(growing, O_RDONLY | O_CLOEXEC)
            defer { close(writer); close(reader) }
            let follow = try #require(LayerArchive.Follow())
            let first = host.layer + "/first"
            let half = bytes.count / 2
            let thread = Thread {
                func write(_ range: Range<Int>) {
                    _ = bytes[range].withUnsafeBytes { Glibc.write(writer, $0.baseAddress, $0.count) }
                    follow.advance(to: Int64(range.upperBound))
                }
                write(0..<half)
                // The first entry comes out of the first half alone.
                while access(first, F_OK) != 0 { usleep(1000) }
                if aborting {
                    follow.abort()
                    return
                }
                var at = half
                while at < bytes.count {
                    write(at..<min(bytes.count, at + 65_536))
                    at += 65_536
                }
                follow.finish()
            }
            thread.start()
            if aborting {
                do {
                    _ = try LayerArchive.extract(fd: reader, into: host.layer, follow: follow, operation: "test")
                    Issue.record("an aborted layer was accepted")
                } catch {
                    #expect(error.message.contains("cancelled: the layer's bytes stopped coming"), "\(error.message)")
                }
            } else {
                let result = try LayerArchive.extract(fd: reader, into: host.layer, follow: follow, operation: "test")
                #expect(result.blobDigest == (try LayerArchive.digest(ofFile: whole)).digest)
                #expect(result.blobBytes == Int64(bytes.count))
                #expect((try? Data(contentsOf: URL(fileURLWithPath: host.layer + "/noise"))) == Data(random))
            }
            #expect(access(first, F_OK) == 0)
            #expect(host.strays() == [])
        }
    }
}
