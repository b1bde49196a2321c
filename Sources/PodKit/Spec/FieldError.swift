/// A field path as Kubernetes prints it: `spec.containers[0].volumeMounts[1].name`, with 0-based
/// indices and map keys in brackets (`metadata.labels[app]`).
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    public let description: String

    public init(_ root: String) { self.description = root }

    /// `path.name`.
    public func child(_ name: String) -> FieldPath {
        FieldPath(description.isEmpty ? name : "\(description).\(name)")
    }
    /// `path[index]`.
    public func index(_ index: Int) -> FieldPath { FieldPath("\(description)[\(index)]") }
    /// `path[key]`.
    public func key(_ key: String) -> FieldPath { FieldPath("\(description)[\(key)]") }

    /// Whether `self` is `other` or lies below it.
    public func isWithin(_ other: FieldPath) -> Bool {
        description == other.description
            || description.hasPrefix(other.description + ".")
            || description.hasPrefix(other.description + "[")
    }
}

/// One problem with one field, worded like Kubernetes' `field.Error`:
/// `spec.containers[1].name: Duplicate value: "web"`.
public struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem; the raw value is the text Kubernetes prints.
    public enum Kind: String, Sendable, Equatable {
        case required = "Required value"
        case invalid = "Invalid value"
        case duplicate = "Duplicate value"
        case notFound = "Not found"
        case unsupportedValue = "Unsupported value"
        case forbidden = "Forbidden"
        case tooLong = "Too long"
        case tooMany = "Too many"
        /// A value of the wrong type (a string where an array is expected).
        case invalidType = "Invalid type"
        /// A Kubernetes field that swift-pods does not implement.
        case unsupportedField = "Unsupported field"
        /// A field Kubernetes does not have (a typo).
        case unknownField = "unknown field"
    }

    public var path: FieldPath
    public var kind: Kind
    /// The offending value, already formatted (strings quoted), when the kind shows one.
    public var value: String?
    public var detail: String?
    /// The line in the source document, when the spec came from text.
    public var line: Int?

    public init(_ kind: Kind, _ path: FieldPath, value: String? = nil, detail: String? = nil, line: Int? = nil) {
        (self.kind, self.path, self.value, self.detail, self.line) = (kind, path, value, detail, line)
    }

    /// A field error quoting a string value, as Go's `%q` does.
    public static func quoted(_ value: String) -> String {
        TextEscaping.quoted(value, style: .go)
    }

    public var description: String {
        var body: String
        switch kind {
        case .unknownField:
            body = "unknown field '\(path.lastComponent)'"
        case .required, .forbidden, .tooLong, .tooMany, .unsupportedField:
            body = kind.rawValue
        default:
            body = kind.rawValue
            if let value { body += ": \(value)" }
        }
        if let detail { body += (kind == .unknownField ? " " : ": ") + detail }
        if let line { body += " (line \(line))" }
        return "\(path): \(body)"
    }
}

/// Every field error of a spec or manifest, thrown together.
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var errors: [FieldError]

    public init(_ errors: [FieldError]) { self.errors = errors }

    /// The errors, one after another, separated by "; ".
    public var description: String { errors.map(\.description).joined(separator: "; ") }
}

extension FieldPath {
    /// The last name or key of the path (`contianers` for `spec.contianers`).
    var lastComponent: String {
        var text = Substring(description)
        while text.hasSuffix("]"), let open = text.lastIndex(of: "[") {
            let inside = text[text.index(after: open)..<text.index(before: text.endIndex)]
            if !inside.allSatisfy(\.isNumber) { return String(inside) }
            text = text[..<open]
        }
        if let dot = text.lastIndex(of: ".") { return String(text[text.index(after: dot)...]) }
        return String(text)
    }
}

extension String {
    package func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
