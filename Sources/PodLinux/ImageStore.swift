import CPodSpawn
import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// Root file systems for the Linux backend, imported from a directory or a tarball: one
/// directory per image below `directory`. `host` (and an empty image name) is the host's own `/`.
/// An image is never written: every container gets an overlay on it.
public struct ImageStore: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// The image name every pod may use without an import: the host's `/`.
    public static let hostImage = "host"

    /// Checks a name: letters, digits and `._:@/-`, starting with a letter or digit, at most
    /// 255 characters, not a path out of the store.
    public static func check(name: String) -> String? {
        if name.isEmpty { return "an image name must not be empty" }
        if name.utf8.count > 255 { return "image name \"\(name)\" is longer than 255 characters" }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@/-")
        guard let first = name.first, first.isLetter || first.isNumber else {
            return "image name \"\(name)\" must start with a letter or a digit"
        }
        if let bad = name.first(where: { !allowed.contains($0) }) {
            return "image name \"\(name)\" contains \"\(bad)\" (allowed: letters, digits and ._:@/-)"
        }
        if name.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) || name.contains("//") {
            return "image name \"\(name)\" is not a plain name"
        }
        if name == hostImage { return "\"host\" is the host's own root and cannot be imported" }
        return nil
    }

    /// The directory holding an image (`/` becomes `+`: one level per image).
    func path(of name: String) -> String {
        directory + "/" + String(name.map { $0 == "/" ? "+" : $0 })
    }

    /// The root directory to lay a container's overlay on.
    public func root(for image: String) throws(BackendError) -> String {
        if image.isEmpty || image == Self.hostImage { return "/" }
        if let problem = Self.check(name: image) { throw BackendError(.unsupported, "image", problem) }
        let dir = path(of: image)
        var info = stat()
        guard stat(dir, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw BackendError(
                .unsupported, "image",
                "image \"\(image)\" not found in \(directory) (import it: podsh image import \(image) ROOTFS.tar|DIR)")
        }
        return dir
    }

    /// The imported images, sorted.
    public func list() -> [String] {
        LinuxSystem.entries(of: directory).map(\.name).filter { !$0.hasPrefix(".") }
            .map { String($0.map { $0 == "+" ? "/" : $0 }) }.sorted()
    }

    static let mountPoints: [(String, mode_t)] = [("proc", 0o555), ("dev", 0o755), ("tmp", 0o1777)]

    /// Imports `source` — a root file system directory, or a tarball (plain, gzip, xz, bzip2 or
    /// zstd: GNU tar tells) — as `name`, replacing an existing image of that name atomically
    /// (an exchange of directories: a pod starting meanwhile sees the old or the new, whole).
    public func importImage(_ name: String, from source: String) throws(BackendError) {
        func failure(_ message: String) -> BackendError { BackendError(.unsupported, "image import \(name)", message) }
        if let problem = Self.check(name: name) { throw failure(problem) }
        var info = stat()
        guard stat(source, &info) == 0 else { throw SystemCall.failure("stat", source, errno, operation: "image import \(name)") }
        let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        guard isDirectory || (info.st_mode & S_IFMT) == S_IFREG else {
            throw failure("\(source) is neither a directory nor a tarball")
        }
        if let code = LinuxSystem.makeDirectories(directory, mode: 0o755) {
            throw SystemCall.failure("mkdir", directory, code, operation: "image import \(name)")
        }
        let staging = directory + "/.import-" + LinuxSystem.randomHex()
        if mkdir(staging, 0o755) != 0 { throw SystemCall.failure("mkdir", staging, errno, operation: "image import \(name)") }
        chmod(staging, 0o755)
        var committed = false
        defer { if !committed { LinuxSystem.removeTree(staging) } }
        let argv =
            isDirectory
            ? ["cp", "-a", "--", source + "/.", staging]
            : ["tar", "-xf", source, "-C", staging, "--numeric-owner"]
        let result = HostCommand.run(argv)
        guard result.status == 0 else {
            throw failure("\(argv[0]) failed: \(Self.failureDetail(result.stderr, status: result.status))")
        }
        // The mount points every container gets, made once here when the image lacks them (as
        // runc would in each container's root): the container's writable layer stays empty.
        for (point, mode) in Self.mountPoints where mkdir(staging + "/" + point, mode) == 0 {
            chmod(staging + "/" + point, mode)
        }
        let target = path(of: name)
        if access(target, F_OK) == 0 {
            guard podspawn_exchange(staging, target) == 0 else {
                throw SystemCall.failure("renameat2", "\(staging), \(target), RENAME_EXCHANGE", errno, operation: "image import \(name)")
            }
            // `staging` now holds the old image.
        } else if rename(staging, target) != 0 {
            throw SystemCall.failure("rename", "\(staging), \(target)", errno, operation: "image import \(name)")
        } else {
            committed = true
        }
    }

    /// What made `tar` or `cp` fail, from its stderr: the last error line, not a warning that
    /// came first (GNU tar's "Removing leading `../' from member names") nor tar's closing
    /// "Exiting with failure status due to previous errors".
    static func failureDetail(_ stderr: String, status: Int32) -> String {
        let warnings = [
            "Removing leading", "Exiting with failure status", "Ignoring unknown extended header keyword",
            "implausibly old time stamp", "in the future", "Error is not recoverable: exiting now",
        ]
        let lines = stderr.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        let errors = lines.filter { line in !warnings.contains { line.contains($0) } }
        return errors.last ?? lines.last ?? "exit status \(status)"
    }

    /// Removes an imported image (pods running on it keep their overlay until they end).
    public func remove(_ name: String) throws(BackendError) {
        if let problem = Self.check(name: name) { throw BackendError(.unsupported, "image rm \(name)", problem) }
        let target = path(of: name)
        guard access(target, F_OK) == 0 else {
            throw BackendError(.unsupported, "image rm \(name)", "no image \"\(name)\" in \(directory)")
        }
        // Renamed away first, so the name is gone at once even if the removal is slow.
        let doomed = directory + "/.remove-" + LinuxSystem.randomHex()
        guard rename(target, doomed) == 0 else {
            throw SystemCall.failure("rename", "\(target), \(doomed)", errno, operation: "image rm \(name)")
        }
        LinuxSystem.removeTree(doomed)
    }
}

/// A host program run to completion (`cp`, `tar`), its stderr captured.
enum HostCommand {
    static func run(_ argv: [String]) -> (status: Int32, stderr: String) {
        let errFD = podspawn_memfd("stderr", "", 0)
        defer { if errFD >= 0 { close(errFD) } }
        let args = CStringArray(argv)
        let env = CStringArray(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"])
        var pid: pid_t = 0
        let spawned = args.withPointer { a in env.withPointer { e in podspawn_host(argv[0], a, e, -1, -1, errFD, &pid) } }
        guard spawned == 0 else { return (127, "\(argv[0]): \(LinuxSystem.describe(spawned))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let stderr = errFD >= 0 ? String(decoding: LinuxSystem.readAll(fd: errFD), as: UTF8.self) : ""
        return (WaitStatus(status).exitCode, stderr)
    }
}
