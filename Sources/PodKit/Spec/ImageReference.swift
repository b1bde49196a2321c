/// A container image reference as the distribution spec's grammar (and every container runtime)
/// reads it: `[host[:port]/]path[:tag][@sha256:digest]`. The first component is a registry host
/// only when it contains a `.` or a `:`, or is `localhost` (Docker's rule): `busybox` and
/// `library/busybox` name no registry, `registry.example:5000/app` does.
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// `registry.example:5000`, or nil for a name without a registry host (a local image unless
    /// the backend has a `defaultRegistry`).
    public var registry: String?
    /// `library/busybox`: the path below the registry, lowercase components.
    public var repository: String
    /// `1.25`, or nil.
    public var tag: String?
    /// `sha256:<64 hex>`, or nil.
    public var digest: String?

    public init(registry: String?, repository: String, tag: String?, digest: String?) {
        (self.registry, self.repository, self.tag, self.digest) = (registry, repository, tag, digest)
    }

    /// The tag a pull resolves: the given one, `latest` when there is neither tag nor digest,
    /// nil for a reference by digest alone.
    public var effectiveTag: String? { tag ?? (digest == nil ? "latest" : nil) }

    /// `registry/repository`, or the repository alone.
    public var name: String { registry.map { "\($0)/\(repository)" } ?? repository }

    /// The reference with its default tag made explicit: `busybox` -> `busybox:latest`. What
    /// stores key images by (a digest keeps its tag only when one was given).
    public var normalized: String {
        var text = name
        if let tag = effectiveTag { text += ":" + tag }
        if let digest { text += "@" + digest }
        return text
    }

    public var description: String {
        var text = name
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest }
        return text
    }

    /// Kubernetes' default policy: `Always` for `:latest` or neither tag nor digest, else
    /// `IfNotPresent`.
    public var defaultPullPolicy: ImagePullPolicy {
        if digest == nil && (tag == nil || tag == "latest") { return .always }
        return .ifNotPresent
    }

    /// The reference as pulled from `defaultRegistry` when it names no registry itself; Docker
    /// Hub's single-component names get its `library/` prefix.
    public func resolved(defaultRegistry: String?) -> ImageReference {
        guard registry == nil, let defaultRegistry else { return self }
        var copy = self
        copy.registry = defaultRegistry
        if defaultRegistry == "docker.io" && !repository.contains("/") { copy.repository = "library/" + repository }
        return copy
    }

    /// The longest reference name accepted (the distribution spec's limit).
    public static let maximumNameLength = 255

    /// Parses `text`; the error says what is wrong, in the words of the distribution grammar.
    public init(parsing text: String) throws(ImageReferenceError) {
        func fail(_ why: String) -> ImageReferenceError { ImageReferenceError(reference: text, problem: why) }
        guard !text.isEmpty else { throw fail("it is empty") }
        var rest = Substring(text)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            let value = rest[rest.index(after: at)...]
            rest = rest[..<at]
            guard value.hasPrefix("sha256:") else {
                throw fail("the digest \"\(value)\" is not sha256:<64 lowercase hex digits>")
            }
            let hex = value.dropFirst(7)
            guard hex.utf8.count == 64, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
                throw fail("the digest \"\(value)\" is not sha256:<64 lowercase hex digits>")
            }
            digest = String(value)
        }
        // A tag is after the last `:` that follows the last `/` (a port's `:` comes before one).
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            let value = rest[rest.index(after: colon)...]
            rest = rest[..<colon]
            guard Self.isTag(value) else {
                throw fail("the tag \"\(value)\" is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
            }
            tag = String(value)
        }
        guard !rest.isEmpty else { throw fail("it has no repository name") }
        guard rest.utf8.count <= Self.maximumNameLength else {
            throw fail("the name is longer than \(Self.maximumNameLength) characters")
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false)
        var registry: String?
        if components.count > 1, let first = components.first,
            first.contains(".") || first.contains(":") || first == "localhost"
        {
            guard Self.isHost(first) else { throw fail("the registry host \"\(first)\" is not host[:port]") }
            registry = String(first)
            components.removeFirst()
        }
        for component in components {
            guard Self.isPathComponent(component) else {
                if component.isEmpty { throw fail("it has an empty path component") }
                if component.contains(where: \.isUppercase) {
                    throw fail("the repository name \"\(component)\" must be lowercase")
                }
                throw fail("the path component \"\(component)\" is not [a-z0-9]+ joined by '.', '_', '__' or '-'")
            }
        }
        self.init(registry: registry, repository: components.joined(separator: "/"), tag: tag, digest: digest)
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool { (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) }

    /// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`.
    static func isPathComponent(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlphanumeric(first), isAlphanumeric(last) else { return false }
        var i = 0
        while i < bytes.count {
            if isAlphanumeric(bytes[i]) {
                i += 1
                continue
            }
            var j = i
            while j < bytes.count && !isAlphanumeric(bytes[j]) { j += 1 }
            let separator = bytes[i..<j]
            let valid =
                separator.elementsEqual([46]) || separator.elementsEqual([95]) || separator.elementsEqual([95, 95])
                || separator.allSatisfy { $0 == 45 }
            guard valid else { return false }
            i = j
        }
        return true
    }

    /// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    public static func isTag(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 128 else { return false }
        func word(_ b: UInt8) -> Bool { isAlphanumeric(b) || (b >= 65 && b <= 90) || b == 95 }
        return word(first) && bytes.allSatisfy { word($0) || $0 == 46 || $0 == 45 }
    }

    /// `host[:port]`: DNS labels joined by dots (or `[ipv6]`), an optional decimal port.
    static func isHost(_ text: Substring) -> Bool {
        var host = text
        if let colon = text.lastIndex(of: ":"), !text[colon...].contains("]") {
            let port = text[text.index(after: colon)...]
            guard !port.isEmpty, port.utf8.count <= 5, port.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Int(port),
                value <= 65535
            else { return false }
            host = text[..<colon]
        }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            let inner = host.dropFirst().dropLast()
            return !inner.isEmpty && inner.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return !labels.isEmpty
            && labels.allSatisfy { label in
                let bytes = Array(label.utf8)
                func alnum(_ b: UInt8) -> Bool { isAlphanumeric(b) || (b >= 65 && b <= 90) }
                guard let first = bytes.first, let last = bytes.last, bytes.count <= 63, alnum(first), alnum(last) else {
                    return false
                }
                return bytes.allSatisfy { alnum($0) || $0 == 45 }
            }
    }
}

/// A reference that does not parse: kubelet's `InvalidImageName`.
public struct ImageReferenceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reference: String
    public var problem: String

    public init(reference: String, problem: String) { (self.reference, self.problem) = (reference, problem) }

    /// kubelet's words, then why.
    public var description: String {
        "couldn't parse image name \"\(reference)\": invalid reference format: \(problem)"
    }
}

/// `imagePullPolicy`.
public enum ImagePullPolicy: String, Sendable, Equatable, CaseIterable {
    case always = "Always"
    case ifNotPresent = "IfNotPresent"
    case never = "Never"
}
