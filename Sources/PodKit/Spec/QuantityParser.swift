// Parsing of quantity text into an exact nano-unit value (see the grammar in Quantity.swift).
//
// The digits are first read into an unbounded integer, so that "0.000...0001" with any number
// of zeros, or "1.5e-3Ki", is computed exactly before it is rounded up to whole nano-units.

enum QuantityParser {
    static let binarySuffixes = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
    static let decimalSuffixes: [(String, Int)] = [
        ("n", -9), ("u", -6), ("m", -3), ("k", 3), ("M", 6), ("G", 9), ("T", 12), ("P", 15), ("E", 18),
    ]
    /// Longer text is refused before any arithmetic.
    static let maxLength = 1000

    static func decimalSuffix(forExponent exponent: Int) -> String? {
        if exponent == 0 { return "" }
        return decimalSuffixes.first { $0.1 == exponent }?.0
    }

    static func parse(_ text: String) throws(QuantityError) -> Quantity {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw .malformed("empty string") }
        guard bytes.count <= maxLength else { throw .malformed("longer than \(maxLength) characters") }

        var i = 0
        var negative = false
        if bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var digits = BigDigits()
        var digitCount = 0
        var fractionDigits = 0
        var sawPoint = false
        while i < bytes.count {
            let c = bytes[i]
            if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                digits.multiply(by: 10, adding: UInt32(c - UInt8(ascii: "0")))
                digitCount += 1
                if sawPoint { fractionDigits += 1 }
            } else if c == UInt8(ascii: "."), !sawPoint {
                sawPoint = true
            } else {
                break
            }
            i += 1
        }
        guard digitCount > 0 else {
            let at = i < bytes.count ? "'\(Character(Unicode.Scalar(bytes[i])))'" : "end of text"
            throw .malformed("expected a digit at offset \(i), found \(at)")
        }

        let suffix = String(decoding: bytes[i...], as: UTF8.self)
        var exponent = 0
        var binaryPower = 0
        var format = Quantity.Format.decimalSI
        if suffix.isEmpty {
            exponent = 0
        } else if let index = binarySuffixes.firstIndex(of: suffix) {
            binaryPower = index + 1
            format = .binarySI
        } else if let si = decimalSuffixes.first(where: { $0.0 == suffix }) {
            exponent = si.1
        } else if let first = suffix.utf8.first, first == UInt8(ascii: "e") || first == UInt8(ascii: "E") {
            exponent = try parseExponent(Array(suffix.utf8.dropFirst()), suffix: suffix)
            format = .decimalExponent
        } else if let first = suffix.unicodeScalars.first, first.properties.isAlphabetic {
            throw .unknownSuffix(suffix)
        } else {
            throw .malformed("unexpected '\(suffix.prefix(1))' at offset \(i)")
        }

        for _ in 0..<binaryPower { digits.multiply(by: 1024, adding: 0) }
        // Scale to nano-units: value * 10^(exponent - fractionDigits + 9).
        let scale = exponent - fractionDigits + 9
        var roundUp = false
        if !digits.isZero {
            if scale >= 0 {
                for _ in 0..<scale {
                    digits.multiply(by: 10, adding: 0)
                    if digits.exceeds(Quantity.maxNanos.magnitude) { throw .tooLarge }
                }
            } else {
                for _ in 0..<(-scale) {
                    if digits.divide(by: 10) != 0 { roundUp = true }
                    if digits.isZero { break }
                }
            }
        }
        guard var magnitude = digits.uint128, magnitude < Quantity.maxNanos.magnitude else { throw .tooLarge }
        if roundUp { magnitude += 1 }
        guard magnitude < Quantity.maxNanos.magnitude else { throw .tooLarge }
        let nanos = Int128(magnitude)
        return try Quantity(nanoValue: negative ? -nanos : nanos, format: format)
    }

    /// The integer after `e`/`E`; absurd exponents saturate (the value then overflows or rounds).
    private static func parseExponent(_ bytes: [UInt8], suffix: String) throws(QuantityError) -> Int {
        var i = 0
        var negative = false
        if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        guard i < bytes.count else { throw .unknownSuffix(suffix) }
        var value = 0
        while i < bytes.count {
            let c = bytes[i]
            guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else {
                throw .malformed("exponent \"\(suffix)\" must be an integer")
            }
            value = Swift.min(value * 10 + Int(c - UInt8(ascii: "0")), 100_000)
            i += 1
        }
        return negative ? -value : value
    }
}

/// A non-negative integer of any size, in base-2^32 limbs (least significant first); just the
/// operations the parser needs.
struct BigDigits {
    private var limbs: [UInt32] = []

    var isZero: Bool { limbs.isEmpty }

    mutating func multiply(by factor: UInt32, adding addend: UInt32) {
        var carry = UInt64(addend)
        for index in limbs.indices {
            let product = UInt64(limbs[index]) * UInt64(factor) + carry
            limbs[index] = UInt32(truncatingIfNeeded: product)
            carry = product >> 32
        }
        if carry != 0 { limbs.append(UInt32(carry)) }
    }

    /// Divides in place and returns the remainder.
    mutating func divide(by divisor: UInt32) -> UInt32 {
        var remainder: UInt64 = 0
        for index in limbs.indices.reversed() {
            let current = (remainder << 32) | UInt64(limbs[index])
            limbs[index] = UInt32(current / UInt64(divisor))
            remainder = current % UInt64(divisor)
        }
        while let last = limbs.last, last == 0 { limbs.removeLast() }
        return UInt32(remainder)
    }

    var uint128: UInt128? {
        guard limbs.count <= 4 else { return nil }
        var value: UInt128 = 0
        for limb in limbs.reversed() { value = value << 32 | UInt128(limb) }
        return value
    }

    func exceeds(_ bound: UInt128) -> Bool {
        guard let value = uint128 else { return true }
        return value >= bound
    }
}
