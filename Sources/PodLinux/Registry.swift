import PodKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A registry as the OCI distribution spec describes it, for one repository: manifests and
/// blobs by `GET /v2/<name>/...`, with the two ways registries ask who is calling — Basic, and
/// the bearer-token flow (a 401 naming a token service's `realm`, `service` and `scope`; the
/// token fetched there, with the credentials when there are any, then sent as `Bearer`).
public final class RegistryClient: Sendable {
    let registry: String
    let repository: String
    /// `https://host` (`http://host` for an insecure registry); docker.io's API is at registry-1.
    let endpoint: String
    let credentials: RegistryCredentials?
    /// The Authorization header that worked last (shared by the layers fetched in parallel).
    private let authorization = Mutex<String?>(nil)

    init(registry: String, repository: String, insecure: Bool, credentials: RegistryCredentials?) {
        self.registry = registry
        self.repository = repository
        let host = registry == "docker.io" ? "registry-1.docker.io" : registry
        endpoint = (insecure ? "http://" : "https://") + host
        self.credentials = credentials
    }

    /// Media types a manifest request accepts, best first.
    static let manifestAccept = [
        "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json",
    ]

    /// `GET /v2/<repository>/<kind>/<reference>` (`/v2/` for an empty kind) with the registry's authorization; a 401 is
    /// answered once (a token fetched, or Basic), then any response is returned.
    func get(
        _ kind: String, _ reference: String, accept: [String] = [], bodyFD: Int32 = -1, memoryLimit: Int = ImageStore.documentLimit,
        rangeFrom: Int64 = 0, cancel: UnsafePointer<Int32>? = nil, follow: OpaquePointer? = nil,
        progress: ((Int64, Int64) -> Void)? = nil, operation: String
    ) throws(BackendError) -> HTTPResponse {
        var request = HTTP.Request(url: kind.isEmpty ? "\(endpoint)/v2/" : "\(endpoint)/v2/\(repository)/\(kind)/\(reference)")
        request.bodyFD = bodyFD
        request.memoryLimit = memoryLimit
        request.rangeFrom = rangeFrom
        request.cancel = cancel
        request.follow = follow
        request.progress = progress
        let acceptHeader = accept.isEmpty ? [] : ["Accept: " + accept.joined(separator: ", ")]
        var tried = false
        while true {
            request.headers = acceptHeader + (authorization.withLock { $0 }.map { ["Authorization: " + $0] } ?? [])
            let response = try HTTP.send(request, operation: operation)
            guard response.status == 401, !tried else { return response }
            tried = true
            try authorize(response, operation: operation)
        }
    }

    /// Answers a 401's challenge: a bearer token from its realm, or Basic with the credentials.
    func authorize(_ response: HTTPResponse, operation: String) throws(BackendError) {
        let challenges = response.headers("www-authenticate").compactMap(Self.parseChallenge)
        if let bearer = challenges.first(where: { $0.scheme == "bearer" }) {
            guard let realm = bearer.parameters["realm"], realm.hasPrefix("https://") || realm.hasPrefix("http://") else {
                throw BackendError(.unavailable, operation, "\(registry): the bearer challenge names no realm to get a token from")
            }
            var query: [String] = []
            if let service = bearer.parameters["service"] { query.append("service=" + Self.percentEncoded(service)) }
            if let scope = bearer.parameters["scope"] ?? (repository.isEmpty ? nil : "repository:\(repository):pull") {
                query.append("scope=" + Self.percentEncoded(scope))
            }
            if let credentials { query.append("account=" + Self.percentEncoded(credentials.username)) }
            var request = HTTP.Request(url: realm + (realm.contains("?") ? "&" : "?") + query.joined(separator: "&"))
            request.memoryLimit = 1 << 20
            if let credentials { request.headers = ["Authorization: Basic " + Base64.encode(credentials.username + ":" + credentials.password)] }
            let answer = try HTTP.send(request, operation: operation)
            guard answer.status == 200 else {
                throw BackendError(
                    .unavailable, operation,
                    "\(registry): the token service \(realm) answered \(answer.status)\(Self.errorDetail(answer)): "
                        + (credentials == nil ? "authentication required (podsh image login \(registry))" : "the credentials were refused"))
            }
            guard let node = try? JSONReader.parse(answer.text),
                let token = node["token"]?.stringValue ?? node["access_token"]?.stringValue, !token.isEmpty
            else { throw BackendError(.unavailable, operation, "\(registry): the token service \(realm) sent no token") }
            authorization.withLock { $0 = "Bearer " + token }
            return
        }
        if challenges.contains(where: { $0.scheme == "basic" }) {
            guard let credentials else {
                throw BackendError(
                    .unavailable, operation, "\(registry): unauthorized: authentication required (podsh image login \(registry), or --creds)")
            }
            authorization.withLock { $0 = "Basic " + Base64.encode(credentials.username + ":" + credentials.password) }
            return
        }
        throw BackendError(.unavailable, operation, "\(registry): unauthorized, and the registry names no way to authenticate")
    }

    /// `Bearer realm="...",service="...",scope="..."` → ("bearer", parameters).
    public static func parseChallenge(_ text: String) -> (scheme: String, parameters: [String: String])? {
        let trimmed = text.trimmingSpaces
        guard let space = trimmed.firstIndex(of: " ") else { return trimmed.isEmpty ? nil : (trimmed.lowercased(), [:]) }
        let scheme = String(trimmed[..<space]).lowercased()
        var parameters: [String: String] = [:]
        var rest = Substring(trimmed[trimmed.index(after: space)...])
        while !rest.isEmpty {
            while rest.first == " " || rest.first == "," { rest.removeFirst() }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let key = rest[..<equals].trimmingSpaces.lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest.removeFirst()
                while let c = rest.first, c != "\"" {
                    rest.removeFirst()
                    if c == "\\", let next = rest.first {
                        value.append(next)
                        rest.removeFirst()
                    } else {
                        value.append(c)
                    }
                }
                if !rest.isEmpty { rest.removeFirst() }
            } else {
                while let c = rest.first, c != "," {
                    value.append(c)
                    rest.removeFirst()
                }
                value = value.trimmingSpaces
            }
            parameters[key] = value
        }
        return (scheme, parameters)
    }

    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if byte < 128 && (c.isLetter || c.isNumber || "-._~:/".contains(c)) {
                out.append(c)
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }

    /// ` (CODE: message)` from a distribution error body, or the start of the body.
    static func errorDetail(_ response: HTTPResponse) -> String {
        if let node = try? JSONReader.parse(response.text), let first = node["errors"]?.arrayValue?.first {
            let code = first["code"]?.stringValue ?? ""
            let message = first["message"]?.stringValue ?? ""
            return " (\(code)\(code.isEmpty || message.isEmpty ? "" : ": ")\(message))"
        }
        let text = response.text.prefix(200).split(separator: "\n").first.map(String.init) ?? ""
        return text.isEmpty ? "" : " (\(text))"
    }

    /// A failure for a response that is not what was asked for.
    func failure(_ response: HTTPResponse, _ what: String, operation: String) -> BackendError {
        let detail = Self.errorDetail(response)
        switch response.status {
        case 401: return BackendError(.unavailable, operation, "\(registry): \(what): unauthorized\(detail): the credentials were refused")
        case 403: return BackendError(.unavailable, operation, "\(registry): \(what): denied\(detail)")
        case 404: return BackendError(.unavailable, operation, "\(registry)/\(repository): \(what): not found\(detail)")
        case 429: return BackendError(.unavailable, operation, "\(registry): \(what): too many requests\(detail)")
        default: return BackendError(.unavailable, operation, "\(registry): \(what): HTTP \(response.status)\(detail)")
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

extension ImageStore {
    /// `podsh image login`: `GET /v2/` with `credentials`, through the registry's challenge;
    /// fails when the registry (or its token service) refuses them.
    public static func checkLogin(registry: String, insecure: Bool, credentials: RegistryCredentials) throws(BackendError) {
        let operation = "login \(registry)"
        let client = RegistryClient(registry: registry, repository: "", insecure: insecure, credentials: credentials)
        let response = try client.get("", "", memoryLimit: 1 << 20, operation: operation)
        guard response.status == 200 else {
            if response.status == 401 {
                throw BackendError(.unavailable, operation, "\(registry): the credentials were refused\(RegistryClient.errorDetail(response))")
            }
            throw client.failure(response, "/v2/", operation: operation)
        }
    }
}
