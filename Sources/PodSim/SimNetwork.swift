import PodKit

/// The simulated network: listening TCP sockets per network namespace and a small HTTP model.
/// A connection reaches a listener of the caller's own namespace through the loopback, or, from
/// the host's namespace, a pod's listener through a published host port (a forwarder, as the
/// Linux backend has one). Anything else is refused.

/// An HTTP request as a handler sees it.
public struct SimHTTPRequest: Sendable, Equatable {
    public var method: String
    public var path: String
    public var headers: [String: String]
    public var body: String

    public init(method: String = "GET", path: String = "/", headers: [String: String] = [:], body: String = "") {
        (self.method, self.path, self.headers, self.body) = (method, path, headers, body)
    }
}

/// An HTTP response.
public struct SimHTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [String: String]
    public var body: String

    public init(status: Int = 200, headers: [String: String] = [:], body: String = "") {
        (self.status, self.headers, self.body) = (status, headers, body)
    }

    /// `HTTP/1.1 404 Not Found`.
    public var statusLine: String { "HTTP/1.1 \(status) \(SimHTTPResponse.reason(status))" }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 201: return "Created"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        default: return "Unknown"
        }
    }
}

/// Why a connection or request failed, worded as the C library does.
public enum SimNetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing listens there.
    case connectionRefused(host: String)
    /// The listener went away before answering.
    case connectionReset
    /// The host name does not resolve.
    case badAddress(String)
    /// No route (an address other than the loopback).
    case unreachable(host: String)
    /// Not an http:// URL.
    case badURL(String)

    public var description: String {
        switch self {
        case .connectionRefused: return "Connection refused"
        case .connectionReset: return "Connection reset by peer"
        case .badAddress(let host): return "bad address '\(host)'"
        case .unreachable: return "Network is unreachable"
        case .badURL(let url): return "not an http URL: \(url)"
        }
    }
}

/// A handler for requests to a listening socket: runs as a thread of the listening process
/// and ends with `.respond`.
public typealias SimHandler = (SimContext, SimHTTPRequest) -> SimStep

/// A listening socket.
final class SimListener {
    unowned let process: SimProcess
    let port: Int
    let handler: SimHandler

    init(process: SimProcess, port: Int, handler: @escaping SimHandler) {
        (self.process, self.port, self.handler) = (process, port, handler)
    }
}

/// A parsed `http://host[:port]/path` URL.
struct SimURL: Equatable {
    var host: String
    var port: Int
    var path: String

    init?(_ text: String) {
        guard text.hasPrefix("http://") else { return nil }
        let rest = text.dropFirst("http://".count)
        let hostPart: Substring
        if let slash = rest.firstIndex(of: "/") {
            hostPart = rest[..<slash]
            path = String(rest[slash...])
        } else {
            hostPart = rest
            path = "/"
        }
        var host = String(hostPart)
        port = 80
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            let after = host[host.index(after: close)...]
            let inner = String(host[host.index(after: host.startIndex)..<close])
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { return nil }
                port = p
            }
            host = inner
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { return nil }
        self.host = host
    }

    /// Whether the host names this machine's loopback.
    var isLoopback: Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }

    /// Whether the host is a literal address (so it needs no name resolution).
    var isLiteralAddress: Bool {
        host.contains(":") || host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy { Int($0) != nil }
    }

    /// The address part as wget prints it: the literal, or 127.0.0.1 for localhost.
    var address: String { host == "localhost" ? "127.0.0.1" : host }
}
