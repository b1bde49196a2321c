import ArgumentParser
import PodCore
import PodLua

/// `podsh`: the swift-pods host. This build answers `--version` and `--help`; running
/// scripts, the prompt and scenario tests arrive with the PodLua and podsh issues.
@main
struct Podsh: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "podsh",
        abstract: "Describe, run and test Kubernetes-style pods from Lua.",
        version: "podsh \(PodCoreVersion.string) (\(LuaState.luaRelease))"
    )
}
