/// Kubernetes' `$(VAR_NAME)` references in `command`, `args` and `env[].value`, expanded as
/// kubelet does (k8s.io/kubernetes third_party/forked/golang/expansion): `$(NAME)` becomes the
/// variable's value when it is defined and stays as written when not; `$$` is a literal `$`
/// (so `$$(NAME)` gives `$(NAME)`); an unclosed `$(` stays as written. An env value sees the
/// variables defined before it; command and args see them all. No shell is involved.
public enum EnvExpansion {
    /// `input` with its references expanded through `lookup`.
    public static func expand(_ input: String, _ lookup: (String) -> String?) -> String {
        let chars = Array(input.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < chars.count {
            guard chars[i] == "$", i + 1 < chars.count else {
                out.append(chars[i])
                i += 1
                continue
            }
            let next = chars[i + 1]
            if next == "$" {
                out.append("$")
                i += 2
            } else if next == "(" {
                if let close = chars[(i + 2)...].firstIndex(of: ")") {
                    let name = String(String.UnicodeScalarView(chars[(i + 2)..<close]))
                    if let value = lookup(name) {
                        out.append(contentsOf: value.unicodeScalars)
                    } else {
                        out.append(contentsOf: "$(\(name))".unicodeScalars)
                    }
                    i = close + 1
                } else {
                    out.append(contentsOf: "$(".unicodeScalars)
                    i += 2
                }
            } else {
                out.append("$")
                out.append(next)
                i += 2
            }
        }
        return String(out)
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
