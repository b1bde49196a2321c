import ArgumentParser
import PodBackends
import PodCore
import PodLinux
import PodManifests

#if canImport(Glibc)
import Glibc
#endif

/// `podsh diagram FILE.lua|POD.yaml`: the topology as Graphviz DOT, or SVG with `--svg`.
struct DiagramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diagram", abstract: "Print a pod's topology as Graphviz DOT.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Render SVG with Graphviz's dot.")
    var svg = false

    @Argument(help: "A Lua script or a Pod manifest (.yaml, .yml, .json).")
    var file: String

    mutating func run() throws {
        let specs: [PodSpec]
        if file.hasSuffix(".lua") {
            specs = try specsCreated(by: file, global: global)
        } else {
            specs = try manifestPods(file)
        }
        let dot = Diagram.dot(specs)
        guard svg else {
            stdoutWrite(dot)
            return
        }
        stdoutWrite(try render(dot))
    }

    /// Pipes DOT through `dot -Tsvg`.
    func render(_ dot: String) throws -> String {
        let candidates = ["/usr/bin/dot", "/usr/local/bin/dot"]
        guard let tool = candidates.first(where: { access($0, X_OK) == 0 }) else {
            stderrWrite("podsh: diagram --svg needs Graphviz's dot, which is not installed (apt-get install graphviz)\n")
            throw ExitCode(1)
        }
        // A file of our own (mkstemp: no name another user can plant a link at).
        var template = Array("/tmp/podsh-diagram-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else {
            stderrWrite("podsh: cannot create a temporary file: \(String(cString: strerror(errno)))\n")
            throw ExitCode(1)
        }
        let input = String(cString: template)
        defer { unlink(input) }
        writeAll(fd, dot)
        close(fd)
        guard let pipe = popen("\(tool) -Tsvg \(input)", "r") else { throw ExitCode(1) }
        let output = (try? readAll(fd: fileno(pipe))) ?? ""
        let status = pclose(pipe)
        guard status == 0 else {
            stderrWrite("podsh: dot failed (status \(status))\n")
            throw ExitCode(1)
        }
        return output
    }
}

/// The pods of a manifest file; a clear error for anything else.
func manifestPods(_ file: String) throws -> [PodSpec] {
    let text = try readInput(file)
    do {
        let decoded = try Manifest.decode(text)
        guard !decoded.pods.isEmpty else {
            stderrWrite("podsh: \(file): no Pod document in the manifest\n")
            throw ExitCode(1)
        }
        return decoded.pods
    } catch let error as ManifestError {
        stderrWrite("podsh: \(file): \(error)\n")
        throw ExitCode(1)
    }
}
