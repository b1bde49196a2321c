/// The environment a container's process starts with, on every backend: what container
/// runtimes set (`PATH` as Docker's default, `HOSTNAME` the pod's hostname, `HOME=/root`), then
/// the spec's variables in order, a later one replacing an earlier one of the same name. An
/// exec gets the container's environment with its own variables over it.
public enum ContainerEnvironment {
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    public static func resolve(_ spec: [EnvVar], hostname: String, extra: [EnvVar] = []) -> [EnvVar] {
        var order: [String] = []
        var values: [String: String] = [:]
        func set(_ name: String, _ value: String) {
            if values[name] == nil { order.append(name) }
            values[name] = value
        }
        set("PATH", defaultPath)
        set("HOSTNAME", hostname)
        set("HOME", "/root")
        for variable in spec + extra { set(variable.name, variable.value) }
        return order.map { EnvVar(name: $0, value: values[$0]!) }
    }
}
