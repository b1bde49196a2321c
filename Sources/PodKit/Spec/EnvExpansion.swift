/// Kubernetes' `$(VAR_NAME)` references in `command`, `args` and `env[].value`, expanded as
/// kubelet does (k8s.io/kubernetes third_party/forked/golang/expansion): `$(NAME)` becomes the
/// variable's value when it is defined and stays as written when not; `$$` is a literal `$`
/// (so `$$(NAME)` gives `$(NAME)`); an unclosed `$(` stays as written. An env value sees the
/// variables defined before it; command and args see them all. No shell is involved.
public enum EnvExpansion {
    /// The longest string execve takes (Linux's MAX_ARG_STRLEN, 32 pages, with its NUL): an
    /// argv word or an env entry `NAME=value` longer than this fails with E2BIG.
    public static let maxStringBytes = 131_072 - 1
    /// The most argv and the environment may hold together (Linux's ARG_MAX with the default
    /// 8 MiB stack: a quarter of it).
    public static let maxTotalBytes = 2_097_152

    /// `input` with its references expanded through `lookup`.
    public static func expand(_ input: String, _ lookup: (String) -> String?) -> String {
        expand(input, limit: .max, lookup) ?? ""
    }

    /// `input` expanded, or nil as soon as the result passes `limit` bytes (the rest is not
    /// built: a chain of doubling references costs the limit, not 2^n).
    public static func expand(_ input: String, limit: Int, _ lookup: (String) -> String?) -> String? {
        guard input.utf8.contains(UInt8(ascii: "$")) else { return input.utf8.count > limit ? nil : input }
        let chars = Array(input.unicodeScalars)
        // Past the last `)` no `$(` can close: the search for one stops there (no n^2 scan).
        let lastClose = chars.lastIndex(of: ")") ?? -1
        var out = String.UnicodeScalarView()
        var bytes = 0
        var i = 0
        while i < chars.count {
            if bytes > limit { return nil }
            guard chars[i] == "$", i + 1 < chars.count else {
                out.append(chars[i])
                bytes += UTF8.width(chars[i])
                i += 1
                continue
            }
            let next = chars[i + 1]
            if next == "$" {
                out.append("$")
                bytes += 1
                i += 2
            } else if next == "(" {
                if i + 2 <= lastClose, let close = chars[(i + 2)...lastClose].firstIndex(of: ")") {
                    let name = String(String.UnicodeScalarView(chars[(i + 2)..<close]))
                    if let value = lookup(name) {
                        bytes += value.utf8.count
                        if bytes > limit { return nil }
                        out.append(contentsOf: value.unicodeScalars)
                    } else {
                        bytes += name.utf8.count + 3
                        out.append(contentsOf: "$(\(name))".unicodeScalars)
                    }
                    i = close + 1
                } else {
                    out.append(contentsOf: "$(".unicodeScalars)
                    bytes += 2
                    i += 2
                }
            } else {
                out.append("$")
                out.append(next)
                bytes += 1 + UTF8.width(next)
                i += 2
            }
        }
        let result = String(out)
        return result.utf8.count > limit ? nil : result
    }

    /// A container's env with each value expanded against the variables before it, and its argv
    /// (command then args) expanded against all of them.
    public static func resolve(_ container: ContainerSpec) -> (argv: [String], env: [EnvVar]) {
        var values: [String: String] = [:]
        var env: [EnvVar] = []
        for variable in container.env {
            let value = expand(variable.value) { values[$0] }
            values[variable.name] = value
            env.append(EnvVar(name: variable.name, value: value))
        }
        return (container.argv.map { expand($0) { values[$0] } }, env)
    }
}
