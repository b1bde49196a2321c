import ArgumentParser
import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// Writes all of `text` to a file descriptor (the C `stdout`/`stderr` globals are off limits
/// in Swift 6, and unbuffered writes keep podsh's and its pods' output in order).
func writeAll(_ fd: Int32, _ text: String) {
    var copy = text
    copy.withUTF8 { writeAll(fd, UnsafeRawBufferPointer($0)) }
}

func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) {
    guard let base = buffer.baseAddress else { return }
    var offset = 0
    while offset < buffer.count {
        let written = write(fd, base + offset, buffer.count - offset)
        if written <= 0 {
            if written < 0 && errno == EINTR { continue }
            return
        }
        offset += written
    }
}

func stderrWrite(_ text: String) { writeAll(2, text) }
func stdoutWrite(_ text: String) { writeAll(1, text) }

/// The most podsh reads of a script or a manifest it is given (the manifest reader's own limit):
/// `/dev/zero` or a runaway pipe is refused after that many bytes, not read whole.
let maxInputBytes = 4 << 20

/// Reads a file descriptor to its end; with a limit, reads at most `limit + 1` bytes and
/// fails when there are more.
func readAll(fd: Int32, limit: Int? = nil) throws(FileError) -> String {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let want = limit.map { min(buffer.count, $0 + 1 - bytes.count) } ?? buffer.count
        let count = read(fd, &buffer, want)
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        bytes += buffer[0..<count]
        if let limit, bytes.count > limit {
            throw FileError(description: "larger than \(limit >> 20) MiB (the most podsh reads)", tooLarge: true)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

struct FileError: Error, CustomStringConvertible {
    let description: String
    /// The file opened but holds more than podsh reads.
    var tooLarge = false
}

/// Reads a file podsh was given; when it cannot, says so on stderr and exits 1.
func readInput(_ path: String) throws -> String {
    do {
        return try readFile(path)
    } catch {
        let verb = (error as? FileError)?.tooLarge == true ? "read" : "open"
        stderrWrite("podsh: cannot \(verb) \(path): \(error)\n")
        throw ExitCode(1)
    }
}

/// A script on standard input (`podsh -`, or podsh with no terminal), at most `maxInputBytes`.
func readStandardInput() throws -> String {
    do {
        return try readAll(fd: 0, limit: maxInputBytes)
    } catch {
        stderrWrite("podsh: cannot read standard input: \(error)\n")
        throw ExitCode(1)
    }
}

func readFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw FileError(description: String(cString: strerror(errno))) }
    defer { close(fd) }
    var info = stat()
    if fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR { throw FileError(description: "Is a directory") }
    return try readAll(fd: fd, limit: maxInputBytes)
}

/// JSON records (`--json`), built as the core's node trees and written as one line each.
enum JSON {
    static func object(_ entries: [(String, SpecNode)]) -> SpecNode {
        SpecNode(.map(entries.map { SpecNode.Entry($0.0, $0.1) }))
    }
    static func string(_ text: String) -> SpecNode { SpecNode(.string(text)) }
    static func number(_ value: Int) -> SpecNode { SpecNode(.number(String(value))) }
    static func bool(_ value: Bool) -> SpecNode { SpecNode(.bool(value)) }
    static func array(_ items: [SpecNode]) -> SpecNode { SpecNode(.array(items)) }
    static func strings(_ items: [String]) -> SpecNode { array(items.map(string)) }
    static let null = SpecNode(.null)
}
