// Quantity: a fixed-point amount of a resource, as Kubernetes' apimachinery defines it.
//
// Grammar (k8s.io/apimachinery/pkg/api/resource/quantity.go):
//
//     <quantity>        ::= <signedNumber><suffix>
//     <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
//     <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
//     <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
//     <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
//     <signedNumber>    ::= <number> | <sign><number>
//     <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
//     <sign>            ::= "+" | "-"
//
// The value is kept exactly, in nano-units (10^-9), in a 128-bit integer: no floating point is
// ever involved. Precision below 1n is rounded up (away from zero), as apimachinery does.
// Magnitudes of 2^63 base units or more are rejected (apimachinery falls back to arbitrary
// precision there; no cgroup or scheduler value can use them).
//
// The suffix kind of the parsed text picks the format used for canonical output, and the
// canonical form follows apimachinery's `CanonicalizeBytes`: "1.5" -> "1500m", "1024Mi" -> "1Gi",
// "1536Mi" -> "1536Mi", "0.5Ki" -> "512", "1e3" -> "1e3", "1000" -> "1k".

/// An exact resource amount such as `500m`, `1.5`, `128Mi` or `1e3`, with Kubernetes' grammar,
/// canonical formatting and semantic comparison (`1Gi == 1024Mi`).
public struct Quantity: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// How a quantity is written back out; chosen by the suffix it was parsed with.
    public enum Format: String, Sendable, Hashable {
        /// Powers of 1024: Ki, Mi, Gi, Ti, Pi, Ei.
        case binarySI = "BinarySI"
        /// Powers of 1000: n, u, m, k, M, G, T, P, E.
        case decimalSI = "DecimalSI"
        /// `e<N>` exponents.
        case decimalExponent = "DecimalExponent"
    }

    /// The exact value in units of 10^-9.
    public let nanoValue: Int128
    /// The format canonical output uses.
    public let format: Format

    /// The largest magnitude accepted, in base units (exclusive): 2^63, counted after rounding
    /// up to a whole unit, so that `value` always fits an `Int64`.
    public static let maxMagnitudeDescription = "2^63"
    static let nanosPerUnit: Int128 = 1_000_000_000
    /// Exclusive bound in nano-units: `(2^63 - 1) * 10^9` is the largest magnitude accepted
    /// (`9223372036854775807.5` would round up to 2^63).
    static let maxNanos: Int128 = Int128(Int64.max) * 1_000_000_000 + 1

    /// Creates a quantity from an exact nano-unit value.
    public init(nanoValue: Int128, format: Format = .decimalSI) throws(QuantityError) {
        guard nanoValue.magnitude < Quantity.maxNanos.magnitude else { throw .tooLarge }
        self.nanoValue = nanoValue
        self.format = format
    }

    /// A whole number of base units (bytes, cores...).
    public init(_ value: Int64, format: Format = .decimalSI) {
        self.nanoValue = Int128(value) * Quantity.nanosPerUnit
        self.format = format
    }

    /// A whole number of milli-units (millicores).
    public init(milli value: Int64) {
        self.nanoValue = Int128(value) * 1_000_000
        self.format = .decimalSI
    }

    /// Parses Kubernetes quantity text; see the grammar above.
    public init(parsing text: String) throws(QuantityError) {
        self = try QuantityParser.parse(text)
    }

    /// Zero, in decimal format.
    public static let zero = Quantity(0)

    /// Whether the value is exactly zero.
    public var isZero: Bool { nanoValue == 0 }

    /// The value in base units, rounded up (apimachinery's `Value()`): bytes for memory.
    public var value: Int64 {
        Int64(clamping: Quantity.ceilDiv(nanoValue, Quantity.nanosPerUnit))
    }

    /// The value in milli-units, rounded up (apimachinery's `MilliValue()`): millicores for cpu.
    /// Saturates at `Int64.max` / `Int64.min` for values beyond 9.2e15 units.
    public var milliValue: Int64 {
        let milli = Quantity.ceilDiv(nanoValue, 1_000_000)
        return Int64(clamping: milli)
    }

    static func ceilDiv(_ a: Int128, _ b: Int128) -> Int128 {
        let (q, r) = a.quotientAndRemainder(dividingBy: b)
        return r > 0 ? q + 1 : q
    }

    /// Exact sum; the result keeps the left operand's format unless it is zero
    /// (apimachinery's `Add`). Throws when the sum leaves the supported range.
    public func adding(_ other: Quantity) throws(QuantityError) -> Quantity {
        let (sum, overflow) = nanoValue.addingReportingOverflow(other.nanoValue)
        guard !overflow else { throw .tooLarge }
        return try Quantity(nanoValue: sum, format: isZero ? other.format : format)
    }

    /// The larger of two quantities (the first on a tie, keeping its format).
    public static func max(_ a: Quantity, _ b: Quantity) -> Quantity { b > a ? b : a }

    public static func < (lhs: Quantity, rhs: Quantity) -> Bool { lhs.nanoValue < rhs.nanoValue }
    /// Semantic equality: `1Gi == 1024Mi`, `1 == 1000m` (apimachinery's `Equal`).
    public static func == (lhs: Quantity, rhs: Quantity) -> Bool { lhs.nanoValue == rhs.nanoValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(nanoValue) }

    /// The canonical text, as apimachinery's `String()` writes it.
    public var description: String { canonical }

    /// The canonical text, as apimachinery's `String()` writes it.
    public var canonical: String {
        if nanoValue == 0 { return "0" }
        let sign = nanoValue < 0 ? "-" : ""
        let magnitude = nanoValue.magnitude
        if format == .binarySI, magnitude >= 1024 * UInt128(Quantity.nanosPerUnit),
            magnitude % UInt128(Quantity.nanosPerUnit) == 0
        {
            var units = magnitude / UInt128(Quantity.nanosPerUnit)
            var power = 0
            while power < QuantityParser.binarySuffixes.count, units % 1024 == 0 {
                units /= 1024
                power += 1
            }
            return sign + String(units) + (power == 0 ? "" : QuantityParser.binarySuffixes[power - 1])
        }
        // Decimal: mantissa * 10^exponent with the exponent a multiple of 3 and as large as
        // possible while the mantissa stays whole (apimachinery's AsCanonicalBytes).
        var mantissa = magnitude
        var exponent = -9
        while mantissa % 10 == 0 {
            mantissa /= 10
            exponent += 1
        }
        switch ((exponent % 3) + 3) % 3 {
        case 1:
            mantissa *= 10
            exponent -= 1
        case 2:
            mantissa *= 100
            exponent -= 2
        default: break
        }
        let suffix: String
        if format == .decimalExponent {
            suffix = exponent == 0 ? "" : "e\(exponent)"
        } else if let si = QuantityParser.decimalSuffix(forExponent: exponent) {
            suffix = si
        } else {
            suffix = "e\(exponent)"
        }
        return sign + String(mantissa) + suffix
    }
}

/// Why quantity text was rejected.
public enum QuantityError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text does not match the grammar; `detail` says where it went wrong.
    case malformed(String)
    /// The number is fine but the suffix is not one Kubernetes knows.
    case unknownSuffix(String)
    /// The magnitude is 2^63 base units or more.
    case tooLarge

    /// apimachinery's own wording for text that does not match the grammar.
    public static let grammarMessage =
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

    public var description: String {
        switch self {
        case .malformed(let detail): return "\(QuantityError.grammarMessage) (\(detail))"
        case .unknownSuffix(let suffix):
            return "\(QuantityError.grammarMessage) (unknown suffix \"\(suffix)\"; "
                + "use one of Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or e<exponent>)"
        case .tooLarge:
            return "must be less than \(Quantity.maxMagnitudeDescription) (the magnitude, rounded up to a whole unit)"
        }
    }
}
