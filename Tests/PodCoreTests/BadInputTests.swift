import Testing

@testable import PodKit
@testable import PodManifests

/// Hostile and broken input gets an error, never a crash or a hang.
@Suite("Bad input")
struct BadInputTests {
    static let malformed: [String] = [
        "apiVersion: v1\nkind: Pod\n  metadata: {name: p}\n",  // bad indentation
        "{ \"apiVersion\": \"v1\", ",  // truncated JSON
        "kind: Pod\nkind: Pod\n",  // duplicate key
        "a: [1, 2\n",  // unclosed flow sequence
        "\t- tab\n",  // tab indentation
        "a: *undefined\n",  // undefined alias
        "\u{0}\u{1}\u{2}",  // control characters
    ]

    @Test("malformed YAML is a syntax error", arguments: malformed)
    func malformedYAML(text: String) {
        #expect {
            try Manifest.decode(text)
        } throws: { error in
            guard let error = error as? ManifestError else { return false }
            if case .syntax = error { return true }
            if case .invalid = error { return true }
            return false
        }
    }

    @Test func syntaxErrorsNameTheLine() {
        do {
            _ = try Manifest.decode("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n")
            Issue.record("expected an error")
        } catch {
            guard case .syntax(let message) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(message.contains("5:1") || message.contains("4:"))
        }
    }

    @Test func nonMapDocuments() throws {
        for text in ["- a\n- b\n", "just a string\n", "42\n"] {
            #expect(throws: ManifestError.self) { try Manifest.decode(text) }
        }
        #expect(try Manifest.decode("").pods == [])
        #expect(try Manifest.decode("---\n---\n").pods == [])
    }

    @Test func aliasBombIsRefused() {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for i in 1...9 {
            let previous = "*a\(i - 1)"
            lines.append("a\(i): &a\(i) [\(Array(repeating: previous, count: 10).joined(separator: ", "))]")
        }
        let text = lines.joined(separator: "\n") + "\n"
        #expect(throws: ManifestError.tooComplex("more than 200000 values (alias expansion?)")) {
            try Manifest.decode(text)
        }
    }

    @Test func deepNestingIsRefused() {
        let flow = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        #expect(throws: ManifestError.tooComplex("nesting deeper than 128 levels at line 1")) {
            try Manifest.decode("a: \(flow)\n")
        }
        let compact = String(repeating: "- ", count: 3000) + "x\n"
        #expect(throws: ManifestError.self) { try Manifest.decode(compact) }
    }

    static let absurdQuantities = [
        "1e400", "12Qi", "--1", String(repeating: "9", count: 200), "1e99999999999999999999",
        "0x10", ".inf", "-.nan", "1_000", "1,5", "١٢", "1e-", "Infinity",
    ]

    @Test("absurd quantities in a manifest", arguments: absurdQuantities)
    func absurdQuantity(text: String) {
        let yaml =
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    resources:\n      limits:\n        memory: \(text)\n"
        let errors = manifestErrors(yaml)
        #expect(errors.count == 1, "\(text): \(errors)")
        #expect(errors.first?.hasPrefix("spec.containers[0].resources.limits.memory: ") == true, "\(text): \(errors)")
    }

    @Test func hugeIntegersInIntegerFields() {
        let yaml =
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  terminationGracePeriodSeconds: \(String(repeating: "9", count: 200))\n  containers:\n  - {name: c, ports: [{containerPort: 99999999999999999999}]}\n"
        #expect(
            manifestErrors(yaml).map { $0.prefix { $0 != ":" } } == [
                "spec.terminationGracePeriodSeconds", "spec.containers[0].ports[0].containerPort",
            ])
        // In range for Int64 but not a port.
        let port =
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, ports: [{containerPort: 9223372036854775807}]}\n"
        #expect(
            manifestErrors(port) == [
                "spec.containers[0].ports[0].containerPort: Invalid value: 9223372036854775807: must be between 1 and 65535, inclusive (line 6)"
            ])
    }

    /// Mutations of a valid manifest (every 7th byte replaced by YAML punctuation) must each
    /// give a value or an error, never a crash; the count checks every mutation was decoded.
    @Test func mutatedManifestsNeverCrash() {
        let base = Array(Manifest.encode(Fixtures.everyField).utf8)
        let replacements: [UInt8] = Array("[]{}:-'\"&*!|>#%@`\t\n 0aZ".utf8)
        var outcomes = 0
        var index = 0
        while index < base.count {
            var bytes = base
            bytes[index] = replacements[index % replacements.count]
            let text = String(decoding: bytes, as: UTF8.self)
            switch Result(catching: { try Manifest.decode(text) }) {
            case .success, .failure: outcomes += 1
            }
            index += 7
        }
        #expect(outcomes == (base.count + 6) / 7)
    }
}
