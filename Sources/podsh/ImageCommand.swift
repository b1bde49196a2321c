import ArgumentParser
import PodBackends
import PodCore
import PodLinux
import PodManifests

#if canImport(Glibc)
import Glibc
#endif

/// `podsh image import NAME SRC | ls | rm NAME`: the linux backend's images. No root needed to
/// list; importing and removing write the image directory.
struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Manage the linux backend's images.",
        discussion: """
            podsh image import NAME SRC   SRC: a root file system directory, or a tarball (.tar,
                                          .tar.gz, .tar.xz...); replaces an image of that NAME atomically
            podsh image ls                the imported images
            podsh image rm NAME           removes an image
            The image "host" is the host's own / and needs no import.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "import, ls or rm, then its arguments.")
    var words: [String] = []

    func run() throws {
        try global.requireLinux("image", "manages the linux backend's images; the %@ backend has none to manage")
        let store = ImageStore(directory: global.imageDir)
        guard let verb = words.first else { throw ValidationError("missing subcommand: import, ls or rm") }
        let rest = Array(words.dropFirst())
        do {
            switch (verb, rest.count) {
            case ("import", 2):
                try store.importImage(rest[0], from: rest[1])
                print("imported \(rest[0])")
            case ("ls", 0):
                if global.json {
                    stdoutWrite(JSON.strings(store.list()).jsonText + "\n")
                } else {
                    for name in store.list() { print(name) }
                }
            case ("rm", 1):
                try store.remove(rest[0])
            case ("import", _): throw ValidationError("usage: podsh image import NAME SRC")
            case ("rm", _): throw ValidationError("usage: podsh image rm NAME")
            case ("ls", _): throw ValidationError("usage: podsh image ls")
            default: throw ValidationError("unknown subcommand '\(verb)': import, ls or rm")
            }
        } catch let error as BackendError {
            stderrWrite("podsh: \(error)\n")
            throw ExitCode(1)
        }
    }
}
