import ArgumentParser
import PodBackends
import PodCore
import PodLinux
import PodManifests

#if canImport(Glibc)
import Glibc
#endif

/// `podsh image pull | login | logout | import | load | ls | inspect | rm | prune`: the linux
/// backend's image store and the registries it pulls from.
/// Listing and inspecting need no root; the others write the store.
struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Manage the linux backend's images.",
        discussion: """
            podsh image pull REF [--creds USER:PASSWORD] [--authfile FILE] [--insecure] [-q]
                                               from a registry (REF names it, or --default-registry);
                                               credentials from --creds, else the auth file
            podsh image login REGISTRY [-u USER] [-p PASSWORD | --password-stdin] [--authfile FILE]
                                               checks the credentials with the registry and keeps
                                               them in the auth file (containers-auth.json)
            podsh image logout REGISTRY [--authfile FILE]
            podsh image import NAME[:TAG] SRC  SRC: a root file system directory, or a tarball (.tar,
                                               .tar.gz, .tar.zst...): a one-layer image
            podsh image load FILE|DIR [--name NAME]
                                               an OCI image layout, an oci-archive or a docker save
                                               archive; NAME names images that come with a bare tag
            podsh image ls [--json]            REF, ID, SIZE, CREATED
            podsh image inspect REF [--json]   the config, the layers
            podsh image rm REF                 removes a reference (an image id: all of its)
            podsh image prune                  removes what no reference needs, and leftovers
            The image "host" is the host's own / and needs no import.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "load: the name for images whose layout gives only a tag.")
    var name: String?

    @Option(help: "pull: USER:PASSWORD for the registry.")
    var creds: String?

    @Option(help: "pull, login, logout: the auth file (default $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json or /run/containers/UID/auth.json).")
    var authfile: String?

    @Option(name: .customLong("tls-verify"), help: "pull, login: false reaches the registry over plain HTTP.")
    var tlsVerify: Bool?

    @Flag(help: "pull, login: reach the registry over plain HTTP (as --tls-verify=false).")
    var insecure = false

    @Flag(name: [.customShort("q"), .long], help: "pull: print only the image at the end.")
    var quiet = false

    @Option(name: [.customShort("u"), .long], help: "login: the user name (asked on a terminal when missing).")
    var username: String?

    @Option(name: [.customShort("p"), .long], help: "login: the password (prefer --password-stdin).")
    var password: String?

    @Flag(help: "login: read the password from standard input.")
    var passwordStdin = false

    @Argument(help: "pull, login, logout, import, load, ls, inspect, rm or prune, then its arguments.")
    var words: [String] = []

    func run() throws {
        try global.requireLinux("image", "manages the linux backend's images; the %@ backend has none to manage")
        let store = ImageStore(directory: global.imageDir)
        guard let verb = words.first else {
            throw ValidationError("missing subcommand: pull, login, logout, import, load, ls, inspect, rm or prune")
        }
        let rest = Array(words.dropFirst())
        do {
            switch (verb, rest.count) {
            case ("pull", 1):
                try pull(rest[0], into: store)
            case ("login", 1):
                try login(rest[0])
            case ("logout", 1):
                let path = authfile ?? RegistryAuthFile.defaultPath
                if try RegistryAuthFile.store(nil, registry: rest[0], path: path) {
                    print("Removed login credentials for \(rest[0])")
                } else {
                    stderrWrite("podsh: not logged into \(rest[0]) (\(path))\n")
                    throw ExitCode(1)
                }
            case ("import", 2):
                let image = try store.importImage(rest[0], from: rest[1])
                print("imported \(image.reference) \(Self.shortID(image.id))")
            case ("load", 1):
                for image in try store.load(rest[0], name: name) { print("loaded \(image.reference) \(Self.shortID(image.id))") }
            case ("ls", 0):
                let images = store.list()
                if global.json {
                    for (reference, image) in images {
                        stdoutWrite(
                            JSON.object([
                                ("ref", JSON.string(reference)), ("id", JSON.string(image.id)), ("size", JSON.number(Int(image.size))),
                                ("created", image.created.map(JSON.string) ?? JSON.null),
                            ]).jsonText + "\n")
                    }
                } else {
                    let rows = images.map { reference, image in
                        [reference, Self.shortID(image.id), Self.size(image.size), image.created ?? "-"]
                    }
                    stdoutWrite(table([["REF", "ID", "SIZE", "CREATED"]] + rows))
                }
            case ("inspect", 1):
                guard let (reference, image) = store.image(for: rest[0]) else {
                    throw BackendError(.unsupported, "image inspect \(rest[0])", "no image \"\(rest[0])\" in \(store.directory)")
                }
                let node = Self.inspect(reference, image)
                stdoutWrite(global.json ? node.jsonText + "\n" : Self.text(reference, image))
            case ("rm", 1):
                try store.remove(rest[0])
            case ("prune", 0):
                let report = try store.prune()
                print(
                    "removed \(report.images) images, \(report.layers) layers, \(report.blobs) blobs, \(report.staging) leftovers")
            case ("pull", _): throw ValidationError("usage: podsh image pull REF")
            case ("login", _): throw ValidationError("usage: podsh image login REGISTRY [-u USER] [--password-stdin]")
            case ("logout", _): throw ValidationError("usage: podsh image logout REGISTRY")
            case ("import", _): throw ValidationError("usage: podsh image import NAME[:TAG] SRC")
            case ("load", _): throw ValidationError("usage: podsh image load FILE|DIR [--name NAME]")
            case ("rm", _): throw ValidationError("usage: podsh image rm REF")
            case ("inspect", _): throw ValidationError("usage: podsh image inspect REF [--json]")
            case ("ls", _): throw ValidationError("usage: podsh image ls [--json]")
            case ("prune", _): throw ValidationError("usage: podsh image prune")
            default: throw ValidationError("unknown subcommand '\(verb)': pull, login, logout, import, load, ls, inspect, rm or prune")
            }
        } catch let error as BackendError {
            stderrWrite("podsh: \(error)\n")
            throw ExitCode(1)
        }
    }

    /// The first 12 hex digits of an id, as `podman images` shows it.
    static func shortID(_ id: String) -> String { String(id.dropFirst(7).prefix(12)) }

    /// Bytes as podman shows them: 1.2 MB (decimal units).
    static func size(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        let tenths = (value * 10).rounded() / 10
        return "\(tenths) \(units[unit])"
    }

    static func inspect(_ reference: String, _ image: ImageStore.Image) -> SpecNode {
        let c = image.config
        func optional(_ text: String?) -> SpecNode { text.map(JSON.string) ?? JSON.null }
        return JSON.object([
            ("ref", JSON.string(reference)), ("id", JSON.string(image.id)), ("size", JSON.number(Int(image.size))),
            ("created", optional(image.created)),
            ("entrypoint", JSON.strings(c.entrypoint)), ("cmd", JSON.strings(c.cmd)), ("env", JSON.strings(c.env)),
            ("workingDir", optional(c.workingDir)), ("user", optional(c.user)), ("stopSignal", optional(c.stopSignal)),
            (
                "layers",
                JSON.array(
                    image.layers.map { layer in
                        JSON.object([
                            ("digest", JSON.string(layer.blob)), ("diffID", JSON.string(layer.diffID)),
                            ("size", JSON.number(Int(layer.size))),
                        ])
                    })
            ),
        ])
    }

    static func text(_ reference: String, _ image: ImageStore.Image) -> String {
        let c = image.config
        func words(_ list: [String]) -> String {
            list.isEmpty ? "-" : list.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        }
        var lines = [
            "Ref:         \(reference)", "Id:          \(image.id)", "Size:        \(size(image.size))",
            "Created:     \(image.created ?? "-")", "Entrypoint:  \(words(c.entrypoint))", "Cmd:         \(words(c.cmd))",
            "WorkingDir:  \(c.workingDir ?? "-")", "User:        \(c.user ?? "-")", "StopSignal:  \(c.stopSignal ?? "-")",
            "Env:",
        ]
        lines += c.env.map { "  \($0)" }
        lines.append("Layers:")
        lines += image.layers.map { "  \($0.blob) \(size($0.size))" }
        return lines.joined(separator: "\n") + "\n"
    }
}
