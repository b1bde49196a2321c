extension SpecNode {
    /// The node as JSON text on one line, map entries in their order — what a backend records
    /// of a spec in its state directory. JSON is YAML, so `---`-separated documents of it read
    /// back as a manifest stream.
    public var jsonText: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let text): out += text
        case .string(let s): SpecNode.quote(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .map(let entries):
            out += "{"
            for (i, entry) in entries.enumerated() {
                if i > 0 { out += "," }
                SpecNode.quote(entry.key, into: &out)
                out += ":"
                entry.node.write(to: &out)
            }
            out += "}"
        }
    }

    /// A JSON string literal (RFC 8259: `"`, `\` and control characters escaped).
    public static func jsonQuoted(_ s: String) -> String {
        TextEscaping.quoted(s, style: .json)
    }

    private static func quote(_ s: String, into out: inout String) {
        out += jsonQuoted(s)
    }
}
