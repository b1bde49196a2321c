import PodKit
import PodLua
import PodManifests
import PodSim

/// The fuzz targets: each takes one input, must never crash or hang on it, and traps (which
/// libFuzzer reports as a crash, with the input) when an invariant breaks.
enum Targets {
    static let all: [(name: String, run: @Sendable ([UInt8]) -> Void)] = [
        ("manifest", manifest), ("quantity", quantity), ("flat-spec", flatSpec), ("sim-shell", simShell),
    ]

    static func named(_ name: String) -> (@Sendable ([UInt8]) -> Void)? { all.first { $0.name == name }?.run }

    /// Manifest decoding; an accepted manifest encodes to text that decodes to the same pods.
    static func manifest(_ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        guard let decoded = try? Manifest.decode(text) else { return }
        let encoded = Manifest.encode(decoded.pods)
        let again: Manifest.Decoded
        do {
            again = try Manifest.decode(encoded)
        } catch {
            fatalError("an accepted manifest encodes to text that does not decode: \(error)\n--- input\n\(text)\n--- encoded\n\(encoded)")
        }
        if again.pods != decoded.pods {
            fatalError("the round trip changed the pods\n--- input\n\(text)\n--- encoded\n\(encoded)")
        }
    }

    /// Quantity parsing; an accepted quantity has values that do not trap, and its canonical
    /// text parses to the same quantity.
    static func quantity(_ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        guard let quantity = try? Quantity(parsing: text) else { return }
        _ = quantity.value
        _ = quantity.milliValue
        let canonical = quantity.description
        guard let again = try? Quantity(parsing: canonical) else {
            fatalError("\"\(text)\" is accepted but its canonical form \"\(canonical)\" is not")
        }
        if again != quantity { fatalError("\"\(text)\" -> \"\(canonical)\" -> a different quantity") }
    }

    /// Flat specs from Lua tables: the input is a Lua chunk (sandboxed, small limits) whose
    /// result is given to pod.create; the pods made are removed after each input.
    nonisolated(unsafe) static var lua: (state: LuaState, runtime: PodRuntime)?

    static func flatSpec(_ data: [UInt8]) {
        if lua == nil {
            let runtime = PodRuntime(backend: SimBackend())
            guard let state = try? LuaState(options: LuaOptions(memoryLimit: 64 << 20, instructionLimit: 1_000_000, timeLimit: 10)),
                (try? state.openPod(runtime: runtime)) != nil
            else { fatalError("cannot make the Lua state") }
            lua = (state, runtime)
        }
        guard let (state, runtime) = lua else { return }
        let text = String(decoding: data, as: UTF8.self)
        _ = try? state.run(
            """
            local f = load(..., "=input", "t")
            if not f then return end
            local ok, spec = pcall(f)
            if ok then pcall(pod.create, spec) end
            """, name: "=fuzz", arguments: [text])
        for pod in runtime.list() { try? pod.remove() }
    }

    /// The sim's sh: any script runs to an exit status (or a clear error), never a crash.
    nonisolated(unsafe) static var shell: PodRuntime?

    static func simShell(_ data: [UInt8]) {
        if shell == nil { shell = PodRuntime(backend: SimBackend()) }
        guard let runtime = shell else { return }
        let script = String(decoding: data, as: UTF8.self)
        _ = try? runtime.execOnHost(["sh", "-c", script], timeout: 30)
    }
}
