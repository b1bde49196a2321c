import CPodSpawn
import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// Small wrappers over the system calls the Linux backend makes from Swift (never between fork
/// and exec: that is C, in CPodSpawn).
enum LinuxSystem {
    /// strerror, as a Swift string.
    static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// Seconds on the monotonic clock.
    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// `mkdir -p` with `mode` for the directories it makes (the umask does not apply).
    static func makeDirectories(_ path: String, mode: mode_t = 0o755) -> Int32? {
        // The leaf first: its parent usually exists (one system call, not one per component).
        if mkdir(path, mode) == 0 {
            if mode & 0o022 != 0 { chmod(path, mode) }
            return nil
        }
        if errno == EEXIST { return nil }
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, mode) == 0 {
                chmod(current, mode)
            } else if errno != EEXIST {
                return errno
            }
        }
        return nil
    }

    /// Everything a descriptor's file holds, read from offset 0 (memfds, log files).
    static func readAll(fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var offset: off_t = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes += buffer[0..<count]
            offset += off_t(count)
        }
        return bytes
    }

    /// Copies what `source` holds from its offset on to `target` (whole writes); an errno when a
    /// read or a write fails.
    static func copy(from source: Int32, to target: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(source, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return errno }
            if count == 0 { return nil }
            var done = 0
            while done < count {
                let n = buffer.withUnsafeBytes { write(target, $0.baseAddress! + done, count - done) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return n < 0 ? errno : EIO }
                done += n
            }
        }
    }

    /// A file's contents, or "" when it cannot be read.
    static func readFile(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        return String(decoding: readAll(fd: fd), as: UTF8.self)
    }

    /// Writes `text` to a new file (mode 0644); an errno on failure.
    /// Writes `text` to an existing file in one write(2) (a /proc file that takes it whole:
    /// uid_map, oom_score_adj); the errno, or nil.
    static func writeExisting(_ path: String, _ text: String) -> Int32? {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return n == bytes.count ? nil : (n < 0 ? errno : EIO)
    }

    /// Waits for a child to end (retrying on EINTR); its raw status.
    static func waitExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }

    static func writeFile(_ path: String, _ text: String, mode: mode_t = 0o644) -> Int32? {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return errno }
            bytes = bytes.dropFirst(n)
        }
        fchmod(fd, mode)
        return nil
    }

    /// Appends `text` to a file (made when missing); an errno on failure.
    static func appendFile(_ path: String, _ text: String) -> Int32? {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let n = text.withCString { write(fd, $0, strlen($0)) }
        return n < 0 ? errno : nil
    }

    /// The disk usage of the tree at `path` as kubelet's `DiskUsage` counts it for an emptyDir:
    /// the blocks (`st_blocks` × 512) of every file and directory, a hard-linked file once,
    /// nothing on another file system (a mount point inside is skipped), symlinks not followed.
    /// It stops as soon as the sum passes `limit` (which is then all the caller needs); what
    /// cannot be read counts nothing, as in kubelet's walk. Iterative: any depth of tree.
    static func diskUsage(_ path: String, stoppingAbove limit: Int64) -> Int64 {
        var root = stat()
        guard lstat(path, &root) == 0 else { return 0 }
        var total = Int64(root.st_blocks) * 512
        var seen = Set<[UInt64]>()
        var pending = [path]
        while let dir = pending.popLast(), total <= limit {
            for entry in entries(of: dir) {
                let child = dir + "/" + entry.name
                var info = stat()
                guard lstat(child, &info) == 0, info.st_dev == root.st_dev else { continue }
                let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
                if !isDirectory && info.st_nlink > 1 && !seen.insert([UInt64(info.st_dev), UInt64(info.st_ino)]).inserted { continue }
                total += Int64(info.st_blocks) * 512
                if isDirectory { pending.append(child) }
                if total > limit { break }
            }
        }
        return total
    }

    /// The names in a directory (without `.` and `..`), with whether each is a directory
    /// (from `d_type`); empty when it cannot be read.
    static func entries(of path: String) -> [(name: String, isDirectory: Bool)] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var out: [(name: String, isDirectory: Bool)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { out.append((name, entry.pointee.d_type == UInt8(DT_DIR))) }
        }
        return out
    }

    /// `rm -rf`, without following symlinks and without crossing into mounts of other file
    /// systems (a mount left inside is reported, not emptied).
    @discardableResult
    static func removeTree(_ path: String) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return errno == ENOENT }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            let names = entries(of: path).map(\.name)
            var ok = true
            for name in names {
                let child = path + "/" + name
                var childInfo = stat()
                if lstat(child, &childInfo) == 0 && (childInfo.st_mode & S_IFMT) == S_IFDIR && childInfo.st_dev != info.st_dev {
                    ok = false  // a mount point: never descend into another file system
                    continue
                }
                ok = removeTree(child) && ok
            }
            return rmdir(path) == 0 && ok
        }
        return unlink(path) == 0
    }

    /// The target of a descriptor (`/proc/self/fd/N`).
    static func pathOf(fd: Int32) -> String? { pathOf(link: "/proc/self/fd/\(fd)") }

    /// The target of a symbolic link (`/proc/PID/ns/mnt` gives `mnt:[4026531841]`).
    static func pathOf(link: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink(link, &buffer, 4096)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The resolved form of a path (realpath), or nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether `path` is `prefix` or below it (whole components).
    static func isWithin(_ path: String, _ prefix: String) -> Bool {
        let p = prefix.count > 1 && prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        return path == p || p == "/" || path.hasPrefix(p + "/")
    }

    /// Random hex digits (a directory name nobody else picks).
    static func randomHex(_ count: Int = 8) -> String {
        var out = ""
        for _ in 0..<count { out += String(UInt8.random(in: 0...15), radix: 16) }
        return out
    }
}

/// NUL-terminated C strings owned until `free()`, laid out as a NULL-terminated array.
final class CStringArray {
    private(set) var pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    deinit {
        for pointer in pointers { free(pointer) }
    }

    func withPointer<T>(_ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) throws -> T) rethrows -> T {
        try pointers.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }
}

/// A child's exit status, decoded.
struct WaitStatus {
    var exitCode: Int32
    var signal: Signal?

    init(_ status: Int32) {
        let low = status & 0x7f
        if low == 0 {
            exitCode = (status >> 8) & 0xff
            signal = nil
        } else {
            signal = Signal(number: low)
            exitCode = 128 + low
        }
    }
}
