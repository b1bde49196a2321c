/// A strict JSON reader (RFC 8259) into `SpecNode`: what the image store reads (OCI manifests,
/// indexes and configs, `docker save`'s manifest.json, auth files) without Foundation. Numbers
/// keep their exact text; nesting deeper than `maxDepth` and trailing bytes are errors; an error
/// says where (line and column) and what was expected.
public enum JSONReader {
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var column: Int
        public var problem: String
        public var description: String { "JSON line \(line), column \(column): \(problem)" }
    }

    public static let maxDepth = 64

    public static func parse(_ text: String) throws(Failure) -> SpecNode {
        try parse(Array(text.utf8))
    }

    public static func parse(_ bytes: [UInt8]) throws(Failure) -> SpecNode {
        var parser = Parser(bytes: bytes)
        parser.skipSpace()
        let node = try parser.value(depth: 0)
        parser.skipSpace()
        if parser.index < bytes.count { throw parser.fail("unexpected \(parser.describe()) after the document") }
        return node
    }

    struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ problem: String) -> Failure {
            var line = 1
            var column = 1
            for byte in bytes[..<min(index, bytes.count)] {
                if byte == 10 {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            }
            return Failure(line: line, column: column, problem: problem)
        }

        func describe() -> String {
            guard index < bytes.count else { return "end of input" }
            let byte = bytes[index]
            if byte >= 32 && byte < 127 { return "'\(Character(Unicode.Scalar(byte)))'" }
            return "byte 0x\(String(byte, radix: 16))"
        }

        mutating func skipSpace() {
            while index < bytes.count, [32, 9, 10, 13].contains(bytes[index]) { index += 1 }
        }

        mutating func expect(_ literal: String, _ node: SpecNode) throws(Failure) -> SpecNode {
            let expected = Array(literal.utf8)
            guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected else {
                throw fail("expected \(literal)")
            }
            index += expected.count
            return node
        }

        mutating func value(depth: Int) throws(Failure) -> SpecNode {
            guard depth < JSONReader.maxDepth else { throw fail("nested deeper than \(JSONReader.maxDepth) levels") }
            guard index < bytes.count else { throw fail("expected a value, got the end of input") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return SpecNode(.string(try string()))
            case UInt8(ascii: "t"): return try expect("true", SpecNode(.bool(true)))
            case UInt8(ascii: "f"): return try expect("false", SpecNode(.bool(false)))
            case UInt8(ascii: "n"): return try expect("null", SpecNode(.null))
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return SpecNode(.number(try number()))
            default: throw fail("expected a value, got \(describe())")
            }
        }

        mutating func object(depth: Int) throws(Failure) -> SpecNode {
            index += 1
            var entries: [SpecNode.Entry] = []
            skipSpace()
            if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
                index += 1
                return SpecNode(.map(entries))
            }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw fail("expected a key string, got \(describe())")
                }
                let key = try string()
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':', got \(describe())") }
                index += 1
                skipSpace()
                entries.append(SpecNode.Entry(key, try value(depth: depth + 1)))
                skipSpace()
                guard index < bytes.count else { throw fail("expected ',' or '}', got the end of input") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "}") else { throw fail("expected ',' or '}', got \(describe())") }
                index += 1
                return SpecNode(.map(entries))
            }
        }

        mutating func array(depth: Int) throws(Failure) -> SpecNode {
            index += 1
            var items: [SpecNode] = []
            skipSpace()
            if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
                index += 1
                return SpecNode(.array(items))
            }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard index < bytes.count else { throw fail("expected ',' or ']', got the end of input") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "]") else { throw fail("expected ',' or ']', got \(describe())") }
                index += 1
                return SpecNode(.array(items))
            }
        }

        mutating func hex4() throws(Failure) -> UInt32 {
            guard index + 4 <= bytes.count else { throw fail("a \\u escape needs four hex digits") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[index]
                let digit: UInt32
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - 48)
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - 87)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - 55)
                default: throw fail("a \\u escape needs four hex digits")
                }
                value = value * 16 + digit
                index += 1
            }
            return value
        }

        mutating func string() throws(Failure) -> String {
            index += 1
            var out: [UInt8] = []
            while true {
                guard index < bytes.count else { throw fail("a string is not closed") }
                let b = bytes[index]
                if b == UInt8(ascii: "\"") {
                    index += 1
                    break
                }
                if b < 32 { throw fail("a control character in a string") }
                if b != UInt8(ascii: "\\") {
                    out.append(b)
                    index += 1
                    continue
                }
                index += 1
                guard index < bytes.count else { throw fail("a string is not closed") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw fail("a lone surrogate in a \\u escape")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("a lone surrogate in a \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw fail("a lone surrogate in a \\u escape")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw fail("an invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default: throw fail("an unknown escape \\\(Character(Unicode.Scalar(escape)))")
                }
            }
            guard let text = String(validating: out, as: UTF8.self) else { throw fail("a string that is not UTF-8") }
            return text
        }

        mutating func number() throws(Failure) -> String {
            let start = index
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            func digits() -> Int {
                let from = index
                while index < bytes.count, (48...57).contains(bytes[index]) { index += 1 }
                return index - from
            }
            guard index < bytes.count else { throw fail("a number without digits") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else if digits() == 0 {
                throw fail("a number without digits")
            }
            if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
                index += 1
                if digits() == 0 { throw fail("a number with no digits after '.'") }
            }
            if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
                index += 1
                if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
                if digits() == 0 { throw fail("a number with no digits in its exponent") }
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
    }
}

extension SpecNode {
    /// The value under `key` of a map (the last one when a key repeats), or nil.
    public subscript(key: String) -> SpecNode? {
        guard case .map(let entries) = value else { return nil }
        return entries.last { $0.key == key }?.node
    }

    /// The string, when this is one.
    public var stringValue: String? {
        if case .string(let text) = value { return text }
        return nil
    }

    /// The items, when this is an array.
    public var arrayValue: [SpecNode]? {
        if case .array(let items) = value { return items }
        return nil
    }

    /// The integer, when this is a number that is one.
    public var integerValue: Int64? {
        if case .number(let text) = value { return Int64(text) }
        return nil
    }
}
