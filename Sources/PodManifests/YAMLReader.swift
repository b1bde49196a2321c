import PodKit
import Yams

/// Turns YAML or JSON text into `SpecNode` trees, one per document, keeping source lines.
/// Structural limits are checked before and during the walk, so hostile input (deep nesting,
/// alias bombs, huge files) is refused with a clear error instead of exhausting the stack or
/// memory.
enum YAMLReader {
    static let maxBytes = 4 << 20
    static let maxDepth = 128
    static let maxNodes = 200_000

    static func documents(_ text: String) throws(ManifestError) -> [SpecNode] {
        guard text.utf8.count <= maxBytes else {
            throw .tooComplex("the text is larger than \(maxBytes >> 20) MiB")
        }
        if let line = deeplyNestedLine(text) {
            throw .tooComplex("nesting deeper than \(maxDepth) levels at line \(line)")
        }
        var roots: [Node] = []
        do {
            // YamlSequence stops at the first error and keeps it.
            var documents = try Yams.compose_all(yaml: text)
            while let root = documents.next() { roots.append(root) }
            if let error = documents.error { throw error }
        } catch {
            throw .syntax(String(describing: error))
        }
        var budget = maxNodes
        var out: [SpecNode] = []
        for root in roots { out.append(try convert(root, budget: &budget, depth: 0)) }
        return out
    }

    /// A cheap upper bound on nesting: indentation, compact "- " sequences and open brackets
    /// per line. Returns the first line that goes deeper than `maxDepth`.
    static func deeplyNestedLine(_ text: String) -> Int? {
        var flow = 0
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var depth = 0
            var deepestFlow = flow
            var leading = true
            var previous: Character = " "
            for c in line {
                if leading {
                    if c == " " { depth += 1 } else if c == "-" { depth += 2 } else { leading = false }
                }
                if c == "[" || c == "{" {
                    flow += 1
                    deepestFlow = max(deepestFlow, flow)
                }
                if c == "]" || c == "}" { flow = max(0, flow - 1) }
                if c == "#" && previous == " " { break }
                previous = c
            }
            if depth / 2 + deepestFlow > maxDepth { return lineNumber }
        }
        return nil
    }

    static func convert(_ node: Node, budget: inout Int, depth: Int) throws(ManifestError) -> SpecNode {
        budget -= 1
        guard budget >= 0 else { throw .tooComplex("more than \(maxNodes) values (alias expansion?)") }
        guard depth <= maxDepth else { throw .tooComplex("nesting deeper than \(maxDepth) levels") }
        let line = node.mark?.line
        switch node {
        case .scalar(let scalar):
            if scalar.style == .singleQuoted || scalar.style == .doubleQuoted || scalar.style == .literal
                || scalar.style == .folded
            {
                return SpecNode(.string(scalar.string), line: line)
            }
            switch node.tag.description {
            case Tag.Name.null.rawValue: return SpecNode(.null, line: line)
            case Tag.Name.bool.rawValue: return SpecNode(.bool(node.bool ?? false), line: line)
            case Tag.Name.int.rawValue, Tag.Name.float.rawValue:
                return SpecNode(.number(scalar.string), line: line)
            default: return SpecNode(.string(scalar.string), line: line)
            }
        case .sequence(let sequence):
            var items: [SpecNode] = []
            for item in sequence { items.append(try convert(item, budget: &budget, depth: depth + 1)) }
            return SpecNode(.array(items), line: line)
        case .mapping(let mapping):
            var entries: [SpecNode.Entry] = []
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw .syntax("line \(key.mark?.line ?? 0): a map key must be a plain scalar")
                }
                entries.append(
                    SpecNode.Entry(
                        keyScalar.string, try convert(value, budget: &budget, depth: depth + 1),
                        line: key.mark?.line))
            }
            return SpecNode(.map(entries), line: line)
        case .alias:
            throw .syntax("line \(line ?? 0): unresolved YAML alias")
        }
    }
}
