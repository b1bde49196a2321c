import Foundation
import PodTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Debian's docker-registry (the distribution registry, 2.8) on 127.0.0.1 with a scratch
/// storage, for pull tests: no auth, htpasswd Basic auth, or token auth with
/// Tests/Tools/token-server.py as its token service. Images are pushed with skopeo from OCI
/// layouts; the registry's access log says what it served. A test without the tools is skipped
/// with the reason printed.
final class TestRegistry {
    enum Auth {
        case none
        case basic(user: String, password: String)
        case token(user: String, password: String)
    }

    let dir: String
    let port: Int
    var host: String { "127.0.0.1:\(port)" }
    private let process = Process()
    private var helpers: [Process] = []
    private var helperPortFiles: [Int: String] = [:]
    let logPath: String

    /// The tools a registry test needs, or why it is skipped.
    static func requireTools(_ auth: Auth) throws {
        var missing: [String] = []
        for (tool, package) in [("/usr/bin/docker-registry", "docker-registry"), ("/usr/bin/skopeo", "skopeo")]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            missing.append(package)
        }
        if case .basic = auth, !FileManager.default.isExecutableFile(atPath: "/usr/bin/htpasswd") { missing.append("apache2-utils") }
        if case .token = auth, !FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") { missing.append("openssl") }
        if !missing.isEmpty {
            print("skip: registry test: apt-get install \(missing.joined(separator: " "))")
            try Test.cancel("needs \(missing.joined(separator: ", "))")
        }
    }

    init(auth: Auth = .none) throws {
        try Self.requireTools(auth)
        dir = Scratch.directory("registry")
        logPath = dir + "/log"
        port = try Self.freePort()
        var authConfig = ""
        switch auth {
        case .none: break
        case .basic(let user, let password):
            let made = try Command.run("/usr/bin/htpasswd", ["-Bbn", user, password])
            guard made.status == 0 else { throw Failure("htpasswd: \(made.stderr)") }
            try made.stdout.write(toFile: dir + "/htpasswd", atomically: true, encoding: .utf8)
            authConfig = "auth:\n  htpasswd:\n    realm: test\n    path: \(dir)/htpasswd\n"
        case .token(let user, let password):
            let made = try Command.run(
                "/usr/bin/openssl",
                ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem", "-days", "2",
                 "-subj", "/CN=swift-pods-test-token"])
            guard made.status == 0 else { throw Failure("openssl: \(made.stderr)") }
            let helper = Process()
            helper.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            helper.arguments = [
                "python3", PackageLayout.root.path + "/Tests/Tools/token-server.py", dir + "/token-port", dir + "/key.pem",
                dir + "/cert.pem", "\(user):\(password)", "test-registry", "test-issuer",
            ]
            try helper.run()
            helpers.append(helper)
            let tokenPort = try Self.waitForPortFile(dir + "/token-port", helper)
            authConfig =
                "auth:\n  token:\n    realm: http://127.0.0.1:\(tokenPort)/token\n    service: test-registry\n    issuer: test-issuer\n    rootcertbundle: \(dir)/cert.pem\n"
        }
        let config = """
            version: 0.1
            log: {level: warn, accesslog: {disabled: false}}
            storage:
              filesystem: {rootdirectory: \(dir)/data}
              delete: {enabled: true}
            http:
              addr: 127.0.0.1:\(port)
            \(authConfig)
            """
        try config.write(toFile: dir + "/config.yml", atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        process.arguments = ["serve", dir + "/config.yml"]
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try log.close()
        try Self.waitUntilListening(port, process, logPath)
    }

    deinit {
        // SIGKILL: a helper may have inherited SIGTERM blocked from the test process.
        for p in [process] + helpers where p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        Scratch.remove(dir)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Pushes the OCI layout `layout` (its only image, or with `all` every manifest of its
    /// index) as `name:tag`.
    func push(_ layout: String, as reference: String, all: Bool = false, creds: String? = nil) throws {
        var arguments = ["--insecure-policy", "copy", "-q", "--dest-tls-verify=false"]
        if all { arguments.append("--all") }
        if let creds { arguments += ["--dest-creds", creds] }
        arguments += ["oci:" + layout, "docker://\(host)/\(reference)"]
        let pushed = try Command.run("/usr/bin/skopeo", arguments)
        guard pushed.status == 0 else { throw Failure("skopeo \(arguments.joined(separator: " ")): \(pushed.stderr)") }
    }

    /// The access log's requests: method, path, status, bytes sent.
    var requests: [(method: String, path: String, status: Int, bytes: Int)] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            // 127.0.0.1 - - [date] "GET /v2/... HTTP/1.1" 200 1234 "" "agent"
            let quoted = line.split(separator: "\"", omittingEmptySubsequences: false)
            guard quoted.count >= 3, line.hasPrefix("127.0.0.1 ") else { return nil }
            let request = quoted[1].split(separator: " ")
            let after = quoted[2].split(separator: " ")
            guard request.count >= 2, after.count >= 2, let status = Int(after[0]) else { return nil }
            return (String(request[0]), String(request[1]), status, Int(after[1]) ?? 0)
        }
    }

    /// The GETs of a blob, in order.
    func blobGets(_ digest: String) -> [(status: Int, bytes: Int)] {
        requests.filter { $0.method == "GET" && $0.path.hasSuffix("/blobs/" + digest) }.map { ($0.status, $0.bytes) }
    }

    /// The file the registry keeps a blob in.
    func blobFile(_ digest: String) -> String {
        let hex = digest.dropFirst(7)
        return "\(dir)/data/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure("bind: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Waits until something listens on `port` (the condition; a guard of 60 s for a server that never comes up).
    static func waitUntilListening(_ port: Int, _ process: Process, _ log: String) throws {
        let deadline = Date().addingTimeInterval(60)
        while !canConnect(port) {
            guard process.isRunning, Date() < deadline else {
                throw Failure("the registry did not listen on \(port): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            usleep(20_000)
        }
    }

    /// The port a helper writes to `path` once it listens.
    static func waitForPortFile(_ path: String, _ process: Process) throws -> Int {
        let deadline = Date().addingTimeInterval(60)
        while true {
            if let text = try? String(contentsOfFile: path, encoding: .utf8), let port = Int(text) { return port }
            guard process.isRunning, Date() < deadline else { throw Failure("\(process.arguments?[1] ?? "helper") did not start") }
            usleep(20_000)
        }
    }

    /// A helper of Tests/Tools running until the registry goes (the slow proxy).
    func startHelper(_ script: String, _ arguments: [String]) throws -> Int {
        let helper = Process()
        let portFile = dir + "/\(script)-port-\(helpers.count)"
        helper.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        helper.arguments = ["python3", PackageLayout.root.path + "/Tests/Tools/" + script, portFile] + arguments
        try helper.run()
        helpers.append(helper)
        let port = try Self.waitForPortFile(portFile, helper)
        helperPortFiles[port] = portFile
        return port
    }

    /// The connections the relay helper on `port` has accepted (slow-proxy.py counts them).
    func connections(throughHelper port: Int) -> Int {
        guard let file = helperPortFiles[port] else { return 0 }
        return ((try? String(contentsOfFile: file + ".connections", encoding: .utf8)) ?? "").split(separator: "\n").count
    }
}
