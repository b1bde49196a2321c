import PodBackends
import PodKit
import PodManifests
import PodSim

/// Runs scenario files: each file in a fresh Lua state, runtime and backend. A file declares
/// cases with `test(name, fn)`; a file that declares none is one case. Each case runs in a
/// protected call with a traceback; the pods a case leaves behind are removed before the next.
public enum ScenarioRunner {
    /// The outcome of one case.
    public struct CaseResult: Sendable, Equatable {
        /// The file's name as given.
        public var file: String
        /// The case name (the file name for a file without cases).
        public var name: String
        public var passed: Bool
        /// The error with its traceback, for a failed case.
        public var message: String?
        /// Wall-clock seconds.
        public var duration: Double
        /// What the case printed (`print`), for differential comparison between backends.
        public var output: String = ""
    }

    /// Declares `test(name, fn)`; cases are kept in a table the runner reads back.
    static let prelude = """
        local cases = {}
        _G.__scenario_cases = cases
        function test(name, fn)
          if type(name) ~= "string" then error("test: the name must be a string, got " .. type(name), 2) end
          if type(fn) ~= "function" then error("test: the case must be a function, got " .. type(fn), 2) end
          cases[#cases + 1] = { name = name, fn = fn }
        end
        """

    /// Runs one file's `source`, named `file`, with `filter` keeping only the cases whose name
    /// contains it. Each file gets a fresh backend of `backend` (nil: the registry's default).
    public static func run(
        file: String, source: String, options: LuaOptions = LuaOptions(), filter: String? = nil,
        backend configuration: BackendConfiguration? = nil
    ) -> [CaseResult] {
        let clock = ContinuousClock()
        let started = clock.now
        func seconds(since start: ContinuousClock.Instant) -> Double {
            let elapsed = clock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        let backend: any PodBackend
        let made: BackendConfiguration
        do {
            made = try configuration ?? options.registry.configure(options.registry.defaultName)
            backend = try made.make()
        } catch {
            return [CaseResult(file: file, name: file, passed: false, message: "backend: \(error)", duration: seconds(since: started))]
        }
        let runtime = PodRuntime(backend: backend)
        defer { runtime.close() }
        let lua: LuaState
        do {
            lua = try LuaState(options: options)
            try lua.openPod(runtime: runtime, configuration: made)
            _ = try lua.run(prelude, name: "=(scenario runner)")
        } catch {
            return [CaseResult(file: file, name: file, passed: false, message: error.message, duration: seconds(since: started))]
        }
        var printed = ""
        lua.setOutput { printed += $0 }
        do {
            _ = try lua.run(source, name: "@\(file)")
        } catch {
            return [CaseResult(file: file, name: file, passed: false, message: error.message, duration: seconds(since: started))]
        }
        let count: Int64
        do {
            guard case .integer(let n) = try lua.run("return #__scenario_cases").first else { return [] }
            count = n
        } catch {
            return [CaseResult(file: file, name: file, passed: false, message: error.message, duration: seconds(since: started))]
        }
        if count == 0 {
            return filter.map { file.contains($0) } ?? true
                ? [CaseResult(file: file, name: file, passed: true, message: nil, duration: seconds(since: started), output: printed)] : []
        }
        var results: [CaseResult] = []
        for index in 1...count {
            guard case .string(let name)? = try? lua.run("return __scenario_cases[\(index)].name").first else { continue }
            if let filter, !name.contains(filter) && !file.contains(filter) { continue }
            let before = Set(runtime.list().map(\.uid))
            let start = clock.now
            var result = CaseResult(file: file, name: name, passed: true, message: nil, duration: 0)
            printed = ""
            do {
                _ = try lua.run("return __scenario_cases[\(index)].fn()", name: "=(case \(name))")
            } catch {
                result.passed = false
                result.message = error.message
            }
            result.duration = seconds(since: start)
            result.output = printed
            for pod in runtime.list() where !before.contains(pod.uid) { try? pod.remove() }
            results.append(result)
        }
        return results
    }
}
