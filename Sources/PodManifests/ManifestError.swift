import PodKit

/// Why a manifest could not be read: the text is not YAML/JSON, or its documents are not valid
/// Kubernetes objects of the supported subset (every field error listed, with its line).
public enum ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text is not well-formed YAML or JSON; the message names the line and column.
    case syntax(String)
    /// The text exceeds a structural limit (size, nesting, node count).
    case tooComplex(String)
    /// The documents hold field errors.
    case invalid(ValidationError)

    public var description: String {
        switch self {
        case .syntax(let message): return "malformed YAML: \(message)"
        case .tooComplex(let message): return "manifest rejected: \(message)"
        case .invalid(let error): return error.description
        }
    }

    /// The field errors, when the problem is in the fields.
    public var fieldErrors: [FieldError] {
        if case .invalid(let error) = self { return error.errors }
        return []
    }
}
