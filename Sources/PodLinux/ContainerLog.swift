#if canImport(Glibc)
import Glibc
#endif

/// A container run's log as its shim (`pod-logger`) keeps it: `<run>.log`, and the part rotated
/// out of it, `<run>.log.1`, when it reached `containerLogMaxSize`. Read together, older first,
/// they are the run's output as written (the last up to twice the limit).
public enum ContainerLog {
    /// The rotated part of the log at `path`.
    public static func rotatedPath(_ path: String) -> String { path + ".1" }

    /// The log at `path` with its rotated part before it. The current file is opened first: a
    /// rotation between the two opens makes `.1` that very file, which is then read once — the
    /// result is always one stretch of the output, never a gap or a repeat.
    public static func read(_ path: String) -> [UInt8] {
        let current = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        let rotated = open(rotatedPath(path), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        defer {
            if current >= 0 { close(current) }
            if rotated >= 0 { close(rotated) }
        }
        var bytes: [UInt8] = []
        if rotated >= 0 && !sameFile(rotated, current) { bytes = LinuxSystem.readAll(fd: rotated) }
        if current >= 0 { bytes += LinuxSystem.readAll(fd: current) }
        return bytes
    }

    /// Copies the log at `path` (its rotated part first) to `fd`; an errno when neither file
    /// can be opened or a write fails.
    public static func copy(_ path: String, to fd: Int32) -> Int32? {
        let current = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        let currentError = errno
        let rotated = open(rotatedPath(path), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        defer {
            if current >= 0 { close(current) }
            if rotated >= 0 { close(rotated) }
        }
        guard current >= 0 || rotated >= 0 else { return currentError }
        for source in [sameFile(rotated, current) ? -1 : rotated, current] where source >= 0 {
            if let code = LinuxSystem.copy(from: source, to: fd) { return code }
        }
        return nil
    }

    static func sameFile(_ a: Int32, _ b: Int32) -> Bool {
        guard a >= 0, b >= 0 else { return false }
        var x = stat()
        var y = stat()
        guard fstat(a, &x) == 0, fstat(b, &y) == 0 else { return false }
        return x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }
}
