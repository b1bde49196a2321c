import ArgumentParser
import PodKit
import PodLinux

/// `podsh ps`: every pod of the state directory, whoever made it, alive or not.
struct PsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List the linux backend's pods (all owners).")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let state = try global.state(for: "ps")
        if global.json {
            let pods = state.list().map { r in
                JSON.object([
                    ("name", JSON.string(r.name)), ("id", JSON.string(r.id)), ("owner", JSON.string(r.ownerText)),
                    ("pause", r.infra.map { JSON.number(Int($0.pid)) } ?? JSON.null), ("pauseAlive", JSON.bool(r.infraAlive)),
                    (
                        "containers",
                        JSON.array(
                            r.containers.map { c in
                                JSON.object([
                                    ("name", JSON.string(c.name)), ("run", JSON.number(c.run)), ("running", JSON.bool(r.isRunning(c))),
                                ])
                            })
                    ),
                    ("ports", JSON.strings(r.published)),
                ])
            }
            stdoutWrite(JSON.array(pods).jsonText + "\n")
            return
        }
        let rows = state.list().map { r in
            [r.name, r.id, r.ownerText, r.infraText, r.containersText, r.published.isEmpty ? "-" : r.published.joined(separator: ",")]
        }
        stdoutWrite(table([["NAME", "ID", "OWNER", "PAUSE", "CONTAINERS", "PORTS"]] + rows))
    }
}
