import ArgumentParser
import PodBackends
import PodCore
import PodLua

/// A Lua state with the `pod` module on one runtime; runs chunks and reports errors as podsh does.
final class ScriptHost {
    let runtime: PodRuntime
    let lua: LuaState

    init(options: LuaOptions, configuration: BackendConfiguration, backend: any PodBackend) throws {
        runtime = PodRuntime(backend: backend)
        do {
            lua = try LuaState(options: options)
            try lua.openPod(runtime: runtime, configuration: configuration)
        } catch {
            stderrWrite("podsh: \(error)\n")
            throw ExitCode(1)
        }
        lua.setOutput { text in stdoutWrite(text) }
    }

    /// Runs a chunk; a failure is one line on stderr plus its traceback, and exit code 1.
    func exitCode(running source: String, name: String, arguments: [String]) -> ExitCode {
        do {
            _ = try lua.run(source, name: name, arguments: arguments)
            runtime.close()
            return .success
        } catch {
            stderrWrite("podsh: \(error.message)\n")
            runtime.close()
            return ExitCode(1)
        }
    }
}
