import Foundation
import PodTestSupport
import Testing

@testable import PodKit
@testable import PodLinux

#if canImport(Glibc)
import Glibc
#endif

/// Every suite that makes real pods runs inside this one, one test at a time: their leak
/// checks count the test process's children in pod namespaces, which a suite running alongside
/// would change.
@Suite("Real Linux", .serialized)
enum RealLinux {}

/// Helpers of the linux backend's tests: scratch directories, the busybox image, and counts of
/// what the backend could leak (our child processes, mounts below a directory).
enum LinuxTestSupport {
    /// A fresh directory below /tmp (removed by `remove`).
    static func scratch(_ label: String) -> String { Scratch.directory(label) }

    static func remove(_ path: String) { Scratch.remove(path) }

    /// One image directory for the whole test process (the busybox image is made once), removed
    /// when the process exits.
    static let imageDir: String = {
        let dir = scratch("images")
        atexit { LinuxTestSupport.removeImageDir() }
        return dir
    }()

    private static func removeImageDir() {
        remove(imageDir)
    }

    /// The busybox rootfs (Debian's busybox-static and a link per applet), imported once as
    /// `busybox`; nil with the reason when busybox-static is missing.
    static let busyboxImage: Result<String, BusyboxMissing> = {
        let busybox = "/bin/busybox"
        guard FileManager.default.isExecutableFile(atPath: busybox) else {
            return .failure(BusyboxMissing(reason: "no /bin/busybox (apt-get install busybox-static)"))
        }
        let rootfs = scratch("busybox-rootfs")
        defer { remove(rootfs) }
        let fm = FileManager.default
        for dir in ["bin", "etc", "root", "www"] { try? fm.createDirectory(atPath: rootfs + "/" + dir, withIntermediateDirectories: true) }
        try? fm.copyItem(atPath: busybox, toPath: rootfs + "/bin/busybox")
        let names = (try? Command.run(busybox, ["--list"]))?.stdout ?? ""
        for name in names.split(separator: "\n") where name != "busybox" {
            try? fm.createSymbolicLink(atPath: rootfs + "/bin/\(name)", withDestinationPath: "busybox")
        }
        try? "root:x:0:0:root:/root:/bin/sh\n".write(toFile: rootfs + "/etc/passwd", atomically: true, encoding: .utf8)
        do {
            try ImageStore(directory: imageDir).importImage("busybox", from: rootfs)
        } catch {
            return .failure(BusyboxMissing(reason: "import failed: \(error)"))
        }
        return .success("busybox")
    }()

    struct BusyboxMissing: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    /// Live (not zombie) children of this test process that are in some namespace not its own
    /// (pauses, containers, execs): what the linux backend made. Processes other suites start
    /// with Foundation share our namespaces and are not counted.
    /// `ourChildren`, given up to two seconds to empty (a process another suite starts can be
    /// caught between its fork and its exec), then described: pid, state, comm, namespaces.
    static func leftoverChildren() -> [String] {
        for _ in 0..<100 where !ourChildren().isEmpty { usleep(20_000) }
        return ourChildren().map { pid in
            let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "?"
            let cmdline = ((try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()).map { $0 == 0 ? 32 : $0 }
            return "\(pid) \(comm.trimmingCharacters(in: .newlines)) [\(String(decoding: cmdline, as: UTF8.self))]"
        }
    }

    static func ourChildren() -> [Int32] {
        let me = getpid()
        func namespaces(_ pid: String) -> [String] {
            ["net", "mnt", "pid", "ipc", "uts"].map {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\($0)")) ?? "?"
            }
        }
        let own = namespaces("self")
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && fields[0] != "Z" && Int32(fields[1]) == me && namespaces(String(pid)) != own
        }
    }

    /// Descriptors of this process that only the linux backend makes: pidfds, memory files
    /// (captured output, stdin), namespaces, and anything below `path`.
    static func backendDescriptors(below path: String) -> [String] {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.compactMap { fd in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)") else { return nil }
            let ours =
                target == "anon_inode:[pidfd]" || target.hasPrefix("/memfd:") || target.hasPrefix(path)
                || ["net:[", "ipc:[", "uts:[", "pid:[", "mnt:["].contains { target.hasPrefix($0) }
            return ours ? "\(fd) -> \(target)" : nil
        }
    }

    /// Mounts (in this process's namespace) at or below `path`.
    static func mounts(below path: String) -> Int {
        let info = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return info.split(separator: "\n").filter { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && (fields[4] == path || fields[4].hasPrefix(path + "/"))
        }.count
    }

    /// Entries below `path` (state left behind).
    static func entries(below path: String) -> [String] {
        (FileManager.default.subpaths(atPath: path) ?? []).sorted()
    }
}
