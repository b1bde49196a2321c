import ArgumentParser
import PodBackends
import PodCore
import PodLinux
import PodManifests
import PodshLine

#if canImport(Glibc)
import Glibc
#endif

/// `podsh play POD.yaml`: runs a Pod manifest and follows it, printing events as they happen,
/// until it ends (or `--for` seconds of pod time pass, then it is stopped gracefully).
struct PlayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "play", abstract: "Run a Kubernetes Pod manifest and follow it.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("for"), help: "Stop the pod after this many seconds (pod time; virtual on sim).")
    var duration: Double = 600

    @Argument(help: "The manifest (YAML or JSON, with the ConfigMaps its volumes name).")
    var file: String

    func validate() throws {
        if let problem = PodRuntime.durationProblem(duration) { throw ValidationError("--for \(problem)") }
    }

    mutating func run() throws {
        let specs = try manifestPods(file)
        let runtime = PodRuntime(backend: try global.makeBackend())
        defer { runtime.close() }
        // SIGTERM, SIGHUP or Ctrl-C end the wait; the pods are then removed (not stopped
        // gracefully: podsh leaves within a second).
        Signals.install(sigintQuits: true)
        runtime.interruption = { podsh_quit_requested() != 0 }
        var followed = 0
        func follow() {
            for e in runtime.newEvents(since: &followed) {
                stdoutWrite(
                    "\(e.time.playTime) \(e.type.rawValue) \(e.reason) \(e.pod)\(e.container.map { "/\($0)" } ?? ""): \(e.message)\n")
            }
        }
        var pods: [Pod] = []
        for spec in specs {
            do {
                pods.append(try runtime.run(spec))
            } catch {
                follow()
                stderrWrite("podsh: \(file): \(error)\n")
                throw ExitCode(1)
            }
        }
        // Events are printed as they come; the wait ends when every pod is done or at --for.
        _ = runtime.sleep(duration) {
            follow()
            return pods.compactMap { try? $0.status() }.allSatisfy { $0.phase.isTerminal }
        }
        if podsh_quit_requested() != 0 {
            stderrWrite("podsh: \(file): \(Signals.name(podsh_quit_requested())): removing the pods\n")
            throw ExitCode(1)
        }
        for pod in pods where (try? pod.status().phase.isTerminal) == false { try? pod.stop() }
        follow()
        var failed = false
        for pod in pods {
            guard let status = try? pod.status() else { continue }
            stdoutWrite("pod \(pod.name): \(status.phase.rawValue)\n")
            for container in status.initContainers + status.containers {
                let detail: String
                switch container.state {
                case .terminated(let t): detail = "\(t.reason.rawValue), exit code \(t.exitCode)\(t.message.map { ": \($0)" } ?? "")"
                case .running: detail = "running"
                case .waiting(let reason, _): detail = "waiting (\(reason))"
                }
                stdoutWrite("  \(container.name): \(detail), \(container.restartCount) restart\(container.restartCount == 1 ? "" : "s")\n")
            }
            if status.phase == .failed { failed = true }
        }
        if failed { throw ExitCode(1) }
    }
}

extension Double {
    /// "  12.500s".
    var playTime: String {
        let millis = Int64(exactly: (self * 1000).rounded()) ?? 0
        let text = "\(millis / 1000).\(String(millis % 1000).leftPadding(3))s"
        return String(repeating: " ", count: max(0, 9 - text.count)) + text
    }
}

extension String {
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
