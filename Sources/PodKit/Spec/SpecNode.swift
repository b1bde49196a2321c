/// An untyped spec value on its way to a `PodSpec`: what a YAML/JSON document or a Lua table
/// holds, with the source line when there is one. Both the manifest reader and the Lua
/// bindings build these, so field paths, type checks and unknown-field errors are the same
/// whichever way a spec arrives.
public struct SpecNode: Sendable, Equatable {
    /// One key of a map, in source order.
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var node: SpecNode
        /// 1-based source line of the key, when the map came from text.
        public var line: Int?
        public init(_ key: String, _ node: SpecNode, line: Int? = nil) {
            self.key = key
            self.node = node
            self.line = line ?? node.line
        }
    }

    public enum Value: Sendable, Equatable {
        case null
        case bool(Bool)
        /// A number, as exact decimal text (`"80"`, `"0.5"`, `"1e3"`), so quantities stay exact.
        case number(String)
        case string(String)
        case array([SpecNode])
        case map([Entry])
    }

    public var value: Value
    /// 1-based source line, when the node came from text.
    public var line: Int?

    public init(_ value: Value, line: Int? = nil) {
        (self.value, self.line) = (value, line)
    }

    /// The name of the node's type, as errors print it.
    public var typeName: String {
        switch value {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .map: return "map"
        }
    }

    /// The value, formatted for an error message.
    public var shortDescription: String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let text): return text
        case .string(let s): return FieldError.quoted(s)
        case .array(let items): return "array of \(items.count)"
        case .map(let entries): return "map of \(entries.count)"
        }
    }
}
