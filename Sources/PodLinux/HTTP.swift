import CImageLibs
import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// One HTTP exchange (`podimage_http`: libcurl, loaded at the first request).
struct HTTPResponse: Sendable {
    var status: Int
    /// The last response's header lines, names lowercased, in order.
    var headers: [(name: String, value: String)]
    /// The body, when it was kept in memory (always for a status other than 200 and 206).
    var body: [UInt8]
    /// Bytes appended to the request's file.
    var written: Int64
    /// A `Range` request was answered with the whole body (the file was started over).
    var restarted: Bool

    func header(_ name: String) -> String? {
        let key = name.lowercased()
        return headers.first { $0.name == key }?.value
    }

    /// Every value of the header `name` (WWW-Authenticate may come more than once).
    func headers(_ name: String) -> [String] {
        let key = name.lowercased()
        return headers.filter { $0.name == key }.map(\.value)
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The media type of `Content-Type`, without parameters.
    var contentType: String? {
        header("content-type").map { String($0.split(separator: ";").first ?? "").trimmingSpaces.lowercased() }
    }
}

enum HTTP {
    struct Request {
        var url: String
        var method = "GET"
        var headers: [String] = []
        /// The body goes to this file (200 and 206 only), or into memory up to `memoryLimit`.
        var bodyFD: Int32 = -1
        var memoryLimit = 4 << 20
        var rangeFrom: Int64 = 0
        var cancel: UnsafePointer<Int32>?
        /// A `podimage_follow` told of every byte written to `bodyFD` (a layer unpacked as it comes).
        var follow: OpaquePointer?
        var progress: ((Int64, Int64) -> Void)?
    }

    /// Sends `request`; a response of any status, or a failure naming the URL and curl's reason.
    static func send(_ request: Request, operation: String) throws(BackendError) -> HTTPResponse {
        var error = [CChar](repeating: 0, count: 512)
        var response = podimage_http_response()
        let status: Int32 = request.headers.withCStrings { headers in
            request.url.withCString { url in
                request.method.withCString { method in
                    withProgress(request.progress) { progress, context in
                        var r = podimage_http_request()
                        r.method = method
                        r.url = url
                        r.headers = headers.baseAddress
                        r.header_count = Int32(headers.count)
                        r.body_fd = request.bodyFD
                        r.memory_limit = request.memoryLimit
                        r.range_from = request.rangeFrom
                        r.connect_timeout_seconds = 30
                        r.stall_seconds = 60
                        r.cancel = request.cancel
                        r.follow = request.follow
                        r.progress = progress
                        r.progress_context = context
                        return podimage_http(&r, &response, &error, error.count)
                    }
                }
            }
        }
        defer { podimage_http_free(&response) }
        guard status == 0 else {
            let why = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw BackendError(.unavailable, operation, "\(request.method) \(request.url): \(why)")
        }
        let body = response.body.map { Array(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: response.body_size)) } ?? []
        let headerText = response.headers.map { String(cString: $0) } ?? ""
        var headers: [(String, String)] = []
        for line in headerText.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]).lowercased(), String(line[line.index(after: colon)...]).trimmingSpaces))
        }
        return HTTPResponse(
            status: response.status, headers: headers, body: body, written: response.written, restarted: response.restarted != 0)
    }

    /// Calls `body` with a C progress callback and its context for `progress` (none when nil).
    private static func withProgress<T>(
        _ progress: ((Int64, Int64) -> Void)?,
        _ body: (@convention(c) (UnsafeMutableRawPointer?, Int64, Int64) -> Void, UnsafeMutableRawPointer?) -> T
    ) -> T {
        guard let progress else { return body({ _, _, _ in }, nil) }
        let box = Unmanaged.passRetained(ProgressBox(progress))
        defer { box.release() }
        return body({ context, received, total in
            guard let context else { return }
            Unmanaged<ProgressBox>.fromOpaque(context).takeUnretainedValue().call(received, total)
        }, box.toOpaque())
    }
}

private final class ProgressBox {
    let call: (Int64, Int64) -> Void
    init(_ call: @escaping (Int64, Int64) -> Void) { self.call = call }
}

extension Array where Element == String {
    /// Calls `body` with the strings as a C array of `const char *`.
    func withCStrings<T>(_ body: (UnsafeBufferPointer<UnsafePointer<CChar>?>) -> T) -> T {
        let copies = map { strdup($0) }
        defer { for copy in copies { free(copy) } }
        let pointers = copies.map { UnsafePointer($0) }
        return pointers.withUnsafeBufferPointer(body)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" || last == "\r" || last == "\n" { s.removeLast() }
        return String(s)
    }
}

extension Substring {
    var trimmingSpaces: String { String(self).trimmingSpaces }
}
