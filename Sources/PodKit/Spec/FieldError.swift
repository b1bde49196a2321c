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

    /// The path one step up (`a.b[2]` -> `a.b` -> `a`), nil at the root.
    public var parent: FieldPath? {
        guard let cut = description.utf8.lastIndex(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "[") }) else {
            return nil
        }
        // A `[key]` may itself hold dots or brackets: cut at the `[` that opens the last one.
        if description.hasSuffix("]"), let open = Self.openingBracket(of: description) {
            return FieldPath(String(description[..<open]))
        }
        return FieldPath(String(description[..<cut]))
    }

    private static func openingBracket(of text: String) -> String.Index? {
        var depth = 0
        var index = text.endIndex
        while index > text.startIndex {
            index = text.index(before: index)
            switch text[index] {
            case "]": depth += 1
            case "[":
                depth -= 1
                if depth == 0 { return index }
            default: break
            }
        }
        return nil
    }

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
    /// The errors kept: the first `maxErrors` (kubectl, too, prints only the first few hundred).
    public var errors: [FieldError]
    /// How many more there were.
    public var omitted: Int

    /// The most errors one validation reports.
    public static let maxErrors = 200

    public init(_ errors: [FieldError]) {
        self.errors = Array(errors.prefix(ValidationError.maxErrors))
        self.omitted = errors.count - self.errors.count
    }

    /// The errors, one after another, separated by "; ".
    public var description: String {
        let shown = errors.map(\.description).joined(separator: "; ")
        return omitted == 0 ? shown : "\(shown); and \(omitted) more error\(omitted == 1 ? "" : "s")"
    }
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
