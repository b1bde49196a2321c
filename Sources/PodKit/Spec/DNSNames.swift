/// Kubernetes' name rules (k8s.io/apimachinery/pkg/util/validation), with its messages.
package enum KubernetesNames {
    static let dns1123LabelMaxLength = 63
    static let dns1123SubdomainMaxLength = 253
    static let labelValueMaxLength = 63

    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters. Returns the problems.
    static func dns1123LabelErrors(_ value: String) -> [String] {
        nameErrors(
            value, maxLength: dns1123LabelMaxLength, valid: isDNS1123Label(value),
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                + "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
                + "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    }

    /// Kubernetes' two checks of a name, in its order: the length, then the pattern.
    private static func nameErrors(_ value: String, maxLength: Int, valid: Bool, _ patternMessage: String) -> [String] {
        let tooLong = value.utf8.count > maxLength ? ["must be no more than \(maxLength) characters"] : []
        return tooLong + (valid ? [] : [patternMessage])
    }

    static func isDNS1123Label(_ value: Substring) -> Bool {
        let bytes = value.utf8
        guard let first = bytes.first, let last = bytes.last else { return false }
        func lowerAlnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) }
        return lowerAlnum(first) && lowerAlnum(last) && bytes.allSatisfy { lowerAlnum($0) || $0 == 0x2d }
    }

    static func isDNS1123Label(_ value: String) -> Bool { isDNS1123Label(Substring(value)) }

    /// DNS-1123 subdomain: dot-separated labels, at most 253 characters.
    package static func dns1123SubdomainErrors(_ value: String) -> [String] {
        let labels = value.split(separator: ".", omittingEmptySubsequences: false)
        return nameErrors(
            value, maxLength: dns1123SubdomainMaxLength, valid: !value.isEmpty && labels.allSatisfy({ isDNS1123Label($0) }),
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
                + "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                + "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    }

    /// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, the name part of label keys and label values.
    static func isQualifiedNamePart(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard let first = bytes.first, let last = bytes.last else { return false }
        func alnum(_ c: UInt8) -> Bool {
            (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)
        }
        return alnum(first) && alnum(last) && bytes.allSatisfy { alnum($0) || $0 == 0x2d || $0 == 0x5f || $0 == 0x2e }
    }

    static let qualifiedNameMessage =
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
        + "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
        + "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"

    /// A label key: `[prefix/]name`, the prefix a DNS subdomain, the name at most 63 characters.
    static func labelKeyErrors(_ key: String) -> [String] {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        var name = key
        var errors: [String] = []
        if parts.count == 2 {
            let prefix = String(parts[0])
            name = String(parts[1])
            if prefix.isEmpty {
                errors.append("prefix part must be non-empty")
            } else {
                errors += dns1123SubdomainErrors(prefix).map { "prefix part \($0)" }
            }
        } else if parts.count > 2 {
            return [
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional "
                    + "DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ]
        }
        if name.isEmpty {
            errors.append("name part must be non-empty")
        } else {
            if name.utf8.count > labelValueMaxLength { errors.append("name part must be no more than 63 characters") }
            if !isQualifiedNamePart(name) { errors.append(qualifiedNameMessage) }
        }
        return errors
    }

    /// A label value: empty, or a qualified name part of at most 63 characters.
    static func labelValueErrors(_ value: String) -> [String] {
        if value.isEmpty { return [] }
        return nameErrors(
            value, maxLength: labelValueMaxLength, valid: isQualifiedNamePart(value),
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
                + "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  "
                + "or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
    }

    /// Kubernetes' relaxed environment variable name rule: printable ASCII other than '='.
    static func envVarNameErrors(_ name: String) -> [String] {
        if name.isEmpty { return [] }
        let ok = name.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7e && $0 != 0x3d }
        return ok ? [] : ["a valid environment variable name must consist only of printable ASCII characters other than '='"]
    }

    /// A ConfigMap data key: `[-._a-zA-Z0-9]+`, at most 253 characters, not `.`, `..` or `..*`.
    static func configMapKeyErrors(_ key: String) -> [String] {
        var errors: [String] = []
        if key.utf8.count > dns1123SubdomainMaxLength { errors.append("must be no more than 253 characters") }
        let ok =
            !key.isEmpty
            && key.utf8.allSatisfy { c in
                (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)
                    || c == 0x2d || c == 0x2e || c == 0x5f
            }
        if !ok {
            errors.append(
                "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
                    + "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
        }
        if key == "." {
            errors.append("must not be '.'")
        } else if key == ".." {
            errors.append("must not be '..'")
        } else if key.hasPrefix("..") {
            errors.append("must not start with '..'")
        }
        return errors
    }
}
