/// The one string escaper: each format of the project (Go's `%q` in field errors, JSON string
/// literals, the linux backend's record fields) is a rule for which scalars to replace.
package enum TextEscaping {
    /// How a quoted literal writes a control character without a short escape.
    package enum ControlStyle: Sendable {
        /// `\x07`, as Go's `%q` (and DEL too).
        case go
        /// `\u0007`, as JSON (RFC 8259).
        case json
    }

    /// `text` with every scalar that `replacement` maps replaced; the others as they are.
    package static func escape(_ text: String, _ replacement: (Unicode.Scalar) -> String?) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if let replaced = replacement(scalar) {
                out += replaced
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `text` in double quotes with `"`, `\`, newline, tab, carriage return and the other
    /// control characters escaped.
    package static func quoted(_ text: String, style: ControlStyle) -> String {
        "\""
            + escape(text) { scalar in
                switch scalar {
                case "\"": return "\\\""
                case "\\": return "\\\\"
                case "\n": return "\\n"
                case "\t": return "\\t"
                case "\r": return "\\r"
                case _ where scalar.value < 0x20 || (style == .go && scalar.value == 0x7f):
                    let hex = String(scalar.value, radix: 16)
                    return style == .go ? "\\x" + hex.leftPadded(to: 2) : "\\u" + hex.leftPadded(to: 4)
                default: return nil
                }
            } + "\""
    }
}
