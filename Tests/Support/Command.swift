import Foundation

/// A program run to its end by a test: exit status and what it printed. The one process helper
/// every test target uses (podsh, lua5.4, kubernetes-validate, busybox, bash).
public struct CommandRun: Equatable, Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        (self.status, self.stdout, self.stderr) = (status, stdout, stderr)
    }

    /// stdout and stderr, for a failure message.
    public var output: String { stdout + stderr }
}

public enum Command {
    /// Runs `executable` with `arguments`; `stdin` is written and closed; `environment` entries
    /// go over this process's environment; `mergeOutput` sends stderr to stdout (in order).
    public static func run(
        _ executable: String, _ arguments: [String], stdin: String? = nil,
        environment: [String: String] = [:], directory: URL? = nil,
        mergeOutput: Bool = false
    ) throws -> CommandRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        // stderr goes to a file, so a child that fills it while stdout is read cannot block.
        let errPath = NSTemporaryDirectory() + "swift-pods-stderr-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        // stdin comes from a file too: a child that stops reading early (a size limit) can
        // neither block the writer nor kill it with SIGPIPE.
        let inPath = NSTemporaryDirectory() + "swift-pods-stdin-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: inPath, contents: Data((stdin ?? "").utf8))
        defer { try? FileManager.default.removeItem(atPath: inPath) }
        let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
        let out = Pipe()
        process.standardOutput = out
        process.standardError = mergeOutput ? out : err
        process.standardInput = input
        try process.run()
        try err.close()
        try input.close()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let stderrText = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return CommandRun(status: process.terminationStatus, stdout: stdout, stderr: stderrText)
    }
}

/// Scratch directories below the system's temporary directory.
public enum Scratch {
    /// A new, empty directory, named for `label` and this process; remove it with `remove`.
    public static func directory(_ label: String) -> String {
        let path = NSTemporaryDirectory() + "swift-pods-test-\(label)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    public static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Where the package's sources and built products are, seen from a running test.
public enum PackageLayout {
    /// The package's root directory (from this file's place in it).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A product built next to the tests (`podsh`, `libpod.so`), or nil.
    public static func builtProduct(_ name: String) -> String? {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = url.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            url.deleteLastPathComponent()
        }
        return nil
    }
}
