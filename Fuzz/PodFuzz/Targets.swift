import PodKit
import PodLinux
import PodLua
import PodManifests
import PodSim

#if canImport(Glibc)
import Glibc
#endif

/// The fuzz targets: each takes one input, must never crash or hang on it, and traps (which
/// libFuzzer reports as a crash, with the input) when an invariant breaks.
enum Targets {
    static let all: [(name: String, run: @Sendable ([UInt8]) -> Void)] = [
        ("manifest", manifest), ("quantity", quantity), ("flat-spec", flatSpec), ("sim-shell", simShell),
        ("image-json", imageJSON), ("layer-archive", layerArchive),
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

    /// Image documents: JSON as the store reads it (an accepted document writes to text that
    /// reads back the same), the image config a runtime would apply, every string in it as an
    /// image reference (an accepted reference prints to text that parses to the same one).
    static func imageJSON(_ data: [UInt8]) {
        guard let node = try? JSONReader.parse(data) else { return }
        let text = node.jsonText
        guard let again = try? JSONReader.parse(text) else { fatalError("accepted JSON writes to text that does not read\n\(text)") }
        if again != node { fatalError("the JSON round trip changed the document\n\(text)") }
        let config = ImageStore.runConfig(node)
        _ = config.argv(command: [], args: [])
        _ = config.environment(over: [EnvVar(name: "A", value: "b")])
        _ = config.gracefulStopSignal
        var strings: [String] = []
        func collect(_ n: SpecNode, depth: Int) {
            guard depth < 8, strings.count < 64 else { return }
            switch n.value {
            case .string(let s): strings.append(s)
            case .array(let items): for item in items { collect(item, depth: depth + 1) }
            case .map(let entries):
                for entry in entries {
                    strings.append(entry.key)
                    collect(entry.node, depth: depth + 1)
                }
            default: break
            }
        }
        collect(node, depth: 0)
        // An auth file or a .dockerconfigjson: entries or an error, and their lookups.
        if let auths = try? RegistryAuths.parse(text, place: "fuzz") {
            for key in auths.keys.prefix(8) { _ = RegistryAuths.credentials(in: auths, registry: key, repository: "a/b") }
        }
        for string in strings {
            // Base64 gives back what it was given; a WWW-Authenticate value parses or is nil.
            if Base64.decode(Base64.encode(string)) != Array(string.utf8) {
                fatalError("base64 of \"\(string)\" does not decode to it")
            }
            _ = RegistryClient.parseChallenge(string)
            _ = Base64.decode(string)
        }
        for string in strings {
            guard let reference = try? ImageReference(parsing: string) else { continue }
            guard let printed = try? ImageReference(parsing: reference.description), printed == reference else {
                fatalError("\"\(string)\" parses but its text \"\(reference.description)\" does not give it back")
            }
            guard (try? ImageReference(parsing: reference.normalized)) != nil else {
                fatalError("\"\(string)\" normalizes to \"\(reference.normalized)\", which does not parse")
            }
            _ = reference.resolved(defaultRegistry: "docker.io").normalized
        }
    }

    /// Layer blobs: any bytes unpack or fail with a message, into a scratch directory that is
    /// emptied after each input; nothing may appear beside it.
    nonisolated(unsafe) static var scratch: (root: String, blob: String)?

    static func layerArchive(_ data: [UInt8]) {
        if scratch == nil {
            let root = "/tmp/pod-fuzz-layers-\(getpid())"
            mkdir(root, 0o700)
            atexit { _ = system("rm -rf -- /tmp/pod-fuzz-layers-\(getpid())") }
            scratch = (root, root + "/blob")
        }
        guard let (root, blob) = scratch else { return }
        let fd = open(blob, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fatalError("cannot write \(blob)") }
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let layer = root + "/layer"
        mkdir(layer, 0o755)
        _ = try? LayerArchive.extract(blob, into: layer)
        _ = system("rm -rf -- '\(layer)'")
        guard let dir = opendir(root) else { fatalError("cannot read \(root)") }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if ![".", "..", "blob"].contains(name) { fatalError("the layer wrote \(root)/\(name) outside its directory") }
        }
    }
}
