import Testing

@testable import PodKit

@Suite("Quantity")
struct QuantityTests {
    /// (input, canonical output) pairs, checked against apimachinery's CanonicalizeBytes rules.
    static let canonical: [(String, String)] = [
        ("0", "0"), ("-0", "0"), ("0Mi", "0"), ("0.0", "0"), ("+1", "1"), ("1", "1"), ("-1", "-1"),
        ("1.5", "1500m"), ("-1.5", "-1500m"), ("0.5", "500m"), (".5", "500m"), ("5.", "5"), ("1.1", "1100m"),
        ("100m", "100m"), ("1000m", "1"), ("1500m", "1500m"), ("0.001", "1m"), ("0.0001", "100u"),
        ("1u", "1u"), ("1000u", "1m"), ("1n", "1n"), ("1000n", "1u"), ("0.1n", "1n"), ("1.5n", "2n"),
        ("1e-400", "1e-9"), ("0.1e-400", "1e-9"), ("1k", "1k"), ("1000", "1k"), ("1500", "1500"), ("15000", "15k"), ("1000k", "1M"),
        ("1M", "1M"), ("1G", "1G"), ("1T", "1T"), ("1P", "1P"), ("1E", "1E"), ("9E", "9E"),
        ("12345678901234", "12345678901234"), ("128974848", "128974848"), ("129M", "129M"),
        ("1e3", "1e3"), ("1E3", "1e3"), ("1.5e3", "1500"), ("1e-3", "1e-3"), ("129e6", "129e6"),
        ("12e+6", "12e6"), ("1e0", "1"), ("0e999999999", "0"),
        ("1Ki", "1Ki"), ("1024", "1024"), ("1023Ki", "1023Ki"), ("0.5Ki", "512"), ("1.5Ki", "1536"),
        ("1024Mi", "1Gi"), ("1536Mi", "1536Mi"), ("1.5Gi", "1536Mi"), ("123Mi", "123Mi"), ("100Gi", "100Gi"),
        ("1048576Ki", "1Gi"), ("1Ei", "1Ei"), ("7Ei", "7Ei"), ("-1Ki", "-1Ki"), ("1024Pi", "1Ei"),
        ("0.0000000001Ki", "103n"), ("0001", "1"), ("1.000000000000000000000000000000", "1"),
    ]

    @Test("canonical form", arguments: canonical)
    func canonicalForm(input: String, expected: String) throws {
        let q = try Quantity(parsing: input)
        #expect(q.canonical == expected, "\(input)")
        #expect(q.description == expected)
        // Canonical text parses back to the same value.
        #expect(try Quantity(parsing: q.canonical) == q)
    }

    static let invalid: [(String, QuantityError)] = [
        ("", .malformed("empty string")),
        (" 1", .malformed("expected a digit at offset 0, found ' '")),
        ("1 ", .malformed("unexpected ' ' at offset 1")),
        ("abc", .malformed("expected a digit at offset 0, found 'a'")),
        ("--1", .malformed("expected a digit at offset 1, found '-'")),
        ("+-1", .malformed("expected a digit at offset 1, found '-'")),
        ("-", .malformed("expected a digit at offset 1, found end of text")),
        (".", .malformed("expected a digit at offset 1, found end of text")),
        ("1.2.3", .malformed("unexpected '.' at offset 3")),
        ("12Qi", .unknownSuffix("Qi")),
        ("1KB", .unknownSuffix("KB")),
        ("1ki", .unknownSuffix("ki")),
        ("1K", .unknownSuffix("K")),
        ("1mi", .unknownSuffix("mi")),
        ("1 Mi", .malformed("unexpected ' ' at offset 1")),
        ("Mi", .malformed("expected a digit at offset 0, found 'M'")),
        ("1e", .unknownSuffix("e")),
        ("1e+", .unknownSuffix("e+")),
        ("1e1.5", .malformed("exponent \"e1.5\" must be an integer")),
        ("1e400", .tooLarge),
        ("1E400", .tooLarge),
        ("8Ei", .tooLarge),
        ("10E", .tooLarge),
        ("9223372036854775808", .tooLarge),
        (String(repeating: "9", count: 200), .tooLarge),
        ("-" + String(repeating: "1", count: 200), .tooLarge),
        (String(repeating: "1", count: 1001), .malformed("longer than 1000 characters")),
    ]

    @Test("invalid text is rejected with the reason", arguments: invalid)
    func invalidText(input: String, expected: QuantityError) {
        #expect(throws: expected) { try Quantity(parsing: input) }
    }

    @Test func errorMessagesQuoteKubernetesGrammar() {
        #expect(
            QuantityError.unknownSuffix("Qi").description.hasPrefix(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"))
        #expect(QuantityError.tooLarge.description == "must be less than 2^63 (the magnitude, rounded up to a whole unit)")
    }

    @Test func largestAcceptedValue() throws {
        let q = try Quantity(parsing: "9223372036854775807")
        #expect(q.value == Int64.max)
        #expect(q.canonical == "9223372036854775807")
        #expect(try Quantity(parsing: "-9223372036854775807").value == -Int64.max)
    }

    @Test func formats() throws {
        #expect(try Quantity(parsing: "1Ki").format == .binarySI)
        #expect(try Quantity(parsing: "1k").format == .decimalSI)
        #expect(try Quantity(parsing: "1").format == .decimalSI)
        #expect(try Quantity(parsing: "1e3").format == .decimalExponent)
    }

    @Test func comparisons() throws {
        func q(_ s: String) throws -> Quantity { try Quantity(parsing: s) }
        #expect(try q("1Gi") == q("1024Mi"))
        #expect(try q("1") == q("1000m"))
        #expect(try q("1k") == q("1e3"))
        #expect(try q("500m") < q("1"))
        #expect(try q("1Ki") > q("1000"))
        #expect(try q("-1") < q("0"))
        #expect(try q("1n") > q("0"))
        #expect(try q("1E") > q("1Pi"))
        #expect(try q("0.1") == q("100m"))
        #expect(try Set([q("1Gi"), q("1024Mi"), q("1073741824")]).count == 1)
        #expect(try Quantity.max(q("1"), q("2")) == q("2"))
    }

    @Test func accessorsRoundUp() throws {
        #expect(try Quantity(parsing: "1.5").milliValue == 1500)
        #expect(try Quantity(parsing: "0.1m").milliValue == 1)
        #expect(try Quantity(parsing: "128Mi").value == 134_217_728)
        #expect(try Quantity(parsing: "1.1").value == 2)
        #expect(try Quantity(parsing: "-1.5").value == -1)
        #expect(try Quantity(parsing: "1n").nanoValue == 1)
        #expect(try Quantity(parsing: "7Ei").milliValue == Int64.max)
    }

    @Test func arithmetic() throws {
        let sum = try Quantity(parsing: "500m").adding(Quantity(parsing: "1.5"))
        #expect(sum.canonical == "2")
        let bytes = try Quantity(parsing: "512Mi").adding(Quantity(parsing: "512Mi"))
        #expect(bytes.canonical == "1Gi")
        #expect(try Quantity.zero.adding(Quantity(parsing: "1Ki")).format == .binarySI)
        #expect(throws: QuantityError.tooLarge) {
            try Quantity(parsing: "7Ei").adding(Quantity(parsing: "7Ei"))
        }
        #expect(Quantity(milli: 250).canonical == "250m")
        #expect(Quantity(3, format: .binarySI).canonical == "3")
    }
}
