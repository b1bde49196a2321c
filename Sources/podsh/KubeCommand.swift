import ArgumentParser
import PodBackends
import PodCore
import PodLinux
import PodLua
import PodManifests

/// `podsh kube FILE.lua`: runs the script and prints the manifests of the pods it creates.
struct KubeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kube", abstract: "Print the Kubernetes manifests of the pods a script creates.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The script.")
    var file: String

    mutating func run() throws {
        let specs = try specsCreated(by: file, global: global)
        stdoutWrite(Manifest.encode(specs))
    }
}

/// Runs a script (its own output to stderr) and returns the specs of every pod it created.
func specsCreated(by file: String, global: GlobalOptions) throws -> [PodSpec] {
    let source = try readInput(file)
    let configuration = try global.backendConfiguration(sandboxed: !global.unsafe)
    let host = try ScriptHost(
        options: try global.luaOptions, configuration: configuration,
        backend: try global.makeBackend(configuration))
    var specs: [PodSpec] = []
    host.runtime.onCreate = { specs.append($0) }
    host.lua.setOutput { stderrWrite($0) }
    host.lua.setArg(script: file, arguments: [])
    let code = host.exitCode(running: source, name: "@\(file)", arguments: [])
    guard code == .success else { throw code }
    return specs
}
