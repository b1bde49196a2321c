import ArgumentParser
import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// Writes all of `text` to a file descriptor (the C `stdout`/`stderr` globals are off limits
/// in Swift 6, and unbuffered writes keep podsh's and its pods' output in order).
func writeAll(_ fd: Int32, _ text: String) {
    var copy = text
    copy.withUTF8 { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if written <= 0 {
                if written < 0 && errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}

func stderrWrite(_ text: String) { writeAll(2, text) }
func stdoutWrite(_ text: String) { writeAll(1, text) }

/// Reads a file descriptor to its end.
func readAll(fd: Int32) -> String {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(fd, &buffer, buffer.count)
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

struct FileError: Error, CustomStringConvertible {
    let description: String
}

/// Reads a file podsh was given; when it cannot, says so on stderr and exits 1.
func readInput(_ path: String) throws -> String {
    do {
        return try readFile(path)
    } catch {
        stderrWrite("podsh: cannot open \(path): \(error)\n")
        throw ExitCode(1)
    }
}

func readFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw FileError(description: String(cString: strerror(errno))) }
    defer { close(fd) }
    var info = stat()
    if fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR { throw FileError(description: "Is a directory") }
    return readAll(fd: fd)
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
