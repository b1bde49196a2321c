/// Reads `SpecNode` trees into typed values, collecting every error with its field path
/// instead of stopping at the first. Unknown keys are errors ("unknown field"); keys that
/// Kubernetes has but swift-pods does not implement are "Unsupported field" errors, or, in
/// lenient mode, warnings that name the ignored path. Nothing is dropped silently.
package struct SpecDecoder {
    package var errors: [FieldError] = []
    package var warnings: [FieldError] = []
    /// Source lines of the fields visited, to place validation errors in the document.
    var lines: [FieldPath: Int] = [:]
    let lenient: Bool
    /// Lua tables: an empty table is an empty list and an empty map alike. In a manifest `[]`
    /// is a list and `{}` a map, and the wrong one is a type error, as in Kubernetes.
    let emptyTablesAreEither: Bool

    package init(lenient: Bool, emptyTablesAreEither: Bool = false) {
        self.lenient = lenient
        self.emptyTablesAreEither = emptyTablesAreEither
    }

    package mutating func fail(_ kind: FieldError.Kind, _ path: FieldPath, _ node: SpecNode?, value: String? = nil, detail: String? = nil) {
        errors.append(FieldError(kind, path, value: value, detail: detail, line: node?.line))
    }

    mutating func typeMismatch(_ path: FieldPath, _ node: SpecNode, expected: String) {
        let got: String
        switch node.value {
        case .null: got = "null"
        case .array(let items): got = "an array of \(items.count) item\(items.count == 1 ? "" : "s")"
        case .map(let entries): got = "a map of \(entries.count) entr\(entries.count == 1 ? "y" : "ies")"
        default: got = "\(node.typeName) \(node.shortDescription)"
        }
        fail(.invalidType, path, node, detail: "expected \(expected), got \(got)")
    }

    /// The entries of a map node whose keys are checked against `supported` (decoded here) and
    /// `known` (Kubernetes fields not implemented). `ignoredIfEmpty` keys are accepted when they
    /// carry nothing (kubectl's `creationTimestamp: null`, `status: {}`).
    package mutating func object(
        _ node: SpecNode, _ path: FieldPath, supported: Set<String>, known: Set<String> = [],
        ignoredIfEmpty: Set<String> = [], hint: ((String) -> String?)? = nil
    ) -> [String: SpecNode]? {
        guard let entries = mapEntries(node, path) else { return nil }
        var fields: [String: SpecNode] = [:]
        for entry in entries {
            let fieldPath = path.child(entry.key)
            if let line = entry.line { lines[fieldPath] = line }
            if fields[entry.key] != nil {
                errors.append(FieldError(.duplicate, fieldPath, detail: "the key appears more than once", line: entry.line))
            } else if supported.contains(entry.key) {
                fields[entry.key] = entry.node
            } else if ignoredIfEmpty.contains(entry.key) && entry.node.isEmpty {
                continue
            } else if known.contains(entry.key) {
                record(
                    FieldError(
                        .unsupportedField, fieldPath,
                        detail: "swift-pods does not implement this Kubernetes field",
                        line: entry.line))
            } else {
                let suggestion =
                    hint?(entry.key)
                    ?? SpecDecoder.closest(to: entry.key, in: supported)
                    .map { "(did you mean '\($0)'?)" }
                record(FieldError(.unknownField, fieldPath, detail: suggestion, line: entry.line))
            }
        }
        return fields
    }

    private mutating func record(_ error: FieldError) {
        if lenient { warnings.append(error) } else { errors.append(error) }
    }

    /// The keys of a map node (none for other nodes).
    func entryKeys(_ node: SpecNode) -> [String] {
        if case .map(let entries) = node.value { return entries.map(\.key) }
        return []
    }

    /// The source line of `path`, or of its nearest recorded ancestor.
    package func line(for path: FieldPath) -> Int? {
        var current: FieldPath? = path
        while let candidate = current {
            if let line = lines[candidate] { return line }
            current = candidate.parent
        }
        return nil
    }

    /// A map's entries; null counts as an empty map (Kubernetes reads `labels:` with no value as
    /// none), and so does an empty Lua table.
    package mutating func mapEntries(_ node: SpecNode, _ path: FieldPath) -> [SpecNode.Entry]? {
        switch node.value {
        case .map(let entries): return entries
        case .null: return []
        case .array(let items) where items.isEmpty && emptyTablesAreEither: return []
        default:
            typeMismatch(path, node, expected: "a map")
            return nil
        }
    }

    /// An array's items; an empty map (an empty Lua table) counts as an empty array.
    mutating func array(_ node: SpecNode, _ path: FieldPath) -> [SpecNode]? {
        switch node.value {
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let line = item.line { lines[path.index(index)] = line }
            }
            return items
        case .map(let entries) where entries.isEmpty && emptyTablesAreEither: return []
        case .null: return []
        default:
            typeMismatch(path, node, expected: "an array")
            return nil
        }
    }

    package mutating func string(_ node: SpecNode, _ path: FieldPath) -> String? {
        if case .string(let s) = node.value { return s }
        typeMismatch(path, node, expected: "a string")
        return nil
    }

    mutating func bool(_ node: SpecNode, _ path: FieldPath) -> Bool? {
        if case .bool(let b) = node.value { return b }
        typeMismatch(path, node, expected: "a boolean")
        return nil
    }

    /// An integer number (`80`, not `80.5`, not `"80"`).
    mutating func integer(_ node: SpecNode, _ path: FieldPath) -> Int64? {
        guard case .number(let text) = node.value else {
            typeMismatch(path, node, expected: "an integer")
            return nil
        }
        guard let value = Int64(text) else {
            // Kubernetes decodes integer fields strictly: `80.0` and `1e2` are not integers.
            let integral = text.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") || (48...57).contains($0) }
            let detail = integral ? "must be an integer between \(Int64.min) and \(Int64.max)" : "must be an integer (no fraction or exponent)"
            fail(.invalid, path, node, value: text, detail: detail)
            return nil
        }
        return value
    }

    /// An array of strings; a lone string is an error, as in Kubernetes.
    mutating func stringArray(_ node: SpecNode, _ path: FieldPath) -> [String]? {
        guard case .array = node.value else {
            if case .map(let entries) = node.value, entries.isEmpty { return [] }
            typeMismatch(path, node, expected: "an array of strings")
            return nil
        }
        guard let items = array(node, path) else { return nil }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            if let s = string(item, path.index(i)) { out.append(s) }
        }
        return out
    }

    /// A map of string to string (labels, configMap data).
    package mutating func stringMap(_ node: SpecNode, _ path: FieldPath) -> [String: String]? {
        guard let entries = mapEntries(node, path) else { return nil }
        var out: [String: String] = [:]
        for entry in entries {
            if out[entry.key] != nil {
                fail(.duplicate, path.key(entry.key), entry.node, detail: "the key appears more than once")
            } else if let s = string(entry.node, path.key(entry.key)) {
                out[entry.key] = s
            }
        }
        return out
    }

    /// A quantity, from text (`"128Mi"`) or a number (`0.5`).
    mutating func quantity(_ node: SpecNode, _ path: FieldPath) -> Quantity? {
        let text: String
        switch node.value {
        case .string(let s): text = s
        case .number(let n): text = n
        default:
            typeMismatch(path, node, expected: "a quantity (string or number)")
            return nil
        }
        do {
            return try Quantity(parsing: text)
        } catch {
            fail(.invalid, path, node, value: FieldError.quoted(text), detail: error.description)
            return nil
        }
    }

    /// One of an enum's raw values; otherwise "Unsupported value" listing the supported ones.
    mutating func enumeration<E: RawRepresentable & CaseIterable>(_ node: SpecNode, _ path: FieldPath, _ type: E.Type) -> E?
    where E.RawValue == String {
        guard let text = string(node, path) else { return nil }
        if let value = E(rawValue: text) { return value }
        let supported = E.allCases.map { FieldError.quoted($0.rawValue) }.sorted().joined(separator: ", ")
        fail(.unsupportedValue, path, node, value: FieldError.quoted(text), detail: "supported values: \(supported)")
        return nil
    }

    /// The supported key closest to a misspelt one, when it is close enough to be a typo.
    static func closest(to key: String, in candidates: Set<String>) -> String? {
        let lowered = key.lowercased()
        var best: (String, Int)?
        for candidate in candidates.sorted() {
            let distance = editDistance(lowered, candidate.lowercased())
            if distance <= Swift.max(1, candidate.count / 3), distance < (best?.1 ?? Int.max) {
                best = (candidate, distance)
            }
        }
        return best?.0
    }

    /// Optimal string alignment distance (Levenshtein with adjacent transpositions).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = Swift.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = Swift.min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}

extension SpecNode {
    /// null, an empty map or an empty array.
    var isEmpty: Bool {
        switch value {
        case .null: return true
        case .map(let entries): return entries.isEmpty
        case .array(let items): return items.isEmpty
        default: return false
        }
    }
}
