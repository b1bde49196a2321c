import ArgumentParser
import PodCore
import PodLinux
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension ImageCommand {
    /// The reference to pull, resolved against --default-registry.
    func pullReference(_ text: String) throws -> ImageReference {
        let written: ImageReference
        do {
            written = try ImageReference(parsing: text)
        } catch {
            throw BackendError(.unsupported, "image pull", "\(error)")
        }
        let reference = written.resolved(defaultRegistry: global.defaultRegistry)
        guard reference.registry != nil else {
            throw BackendError(
                .unsupported, "image pull \(text)",
                "\"\(text)\" names no registry: write it in full (docker.io/library/\(written.repository)) or give --default-registry")
        }
        return reference
    }

    func isInsecure(_ registry: String) -> Bool {
        if insecure { return true }
        if let tlsVerify { return !tlsVerify }
        return global.insecureRegistry.contains(registry)
    }

    /// `--creds`, else the auth file's entry.
    func credentials(registry: String, repository: String) throws -> RegistryCredentials? {
        if let creds {
            guard let parsed = RegistryCredentials(joined: creds) else { throw ValidationError("--creds must be USER:PASSWORD") }
            return parsed
        }
        return try RegistryAuthFile.lookup(
            registry: registry, repository: repository, paths: authfile.map { [$0] } ?? RegistryAuthFile.searchPaths)
    }

    func pull(_ text: String, into store: ImageStore) throws {
        let reference = try pullReference(text)
        let registry = reference.registry ?? ""
        let settings = ImageStore.PullSettings(
            insecure: isInsecure(registry), credentials: try credentials(registry: registry, repository: reference.repository))
        let progress = PullProgress(reference: reference.normalized, terminal: isatty(2) != 0, quiet: quiet)
        let cancel = ImageStore.PullCancel()
        let image = try store.pull(reference, settings: settings, cancel: cancel, events: { progress.show($0) })
        progress.finish()
        if quiet {
            print(image.id)
        } else {
            print("pulled \(image.reference) \(Self.shortID(image.id))")
        }
    }

    func login(_ registry: String) throws {
        guard LinuxBackendOptions.isRegistryHost(registry) else {
            throw ValidationError("'\(registry)' is not a registry host (like quay.io or 127.0.0.1:5000)")
        }
        guard let user = username ?? Self.ask("Username: ", echo: true), !user.isEmpty else {
            throw ValidationError("login: no user name (-u USER)")
        }
        var secret = password
        if passwordStdin {
            let input = try readStandardInput()
            secret = String(input.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
        }
        guard let secret = secret ?? Self.ask("Password: ", echo: false), !secret.isEmpty else {
            throw ValidationError("login: no password (--password-stdin)")
        }
        let credentials = RegistryCredentials(username: user, password: secret)
        try ImageStore.checkLogin(registry: registry, insecure: isInsecure(registry), credentials: credentials)
        try RegistryAuthFile.store(credentials, registry: registry, path: authfile ?? RegistryAuthFile.defaultPath)
        print("Login Succeeded!")
    }

    /// A line read from the terminal (nil without one), echoed or not.
    static func ask(_ prompt: String, echo: Bool) -> String? {
        guard isatty(0) != 0 else { return nil }
        stderrWrite(prompt)
        var saved = termios()
        let changed = !echo && tcgetattr(0, &saved) == 0
        if changed {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSANOW, &quiet)
        }
        defer {
            if changed {
                tcsetattr(0, TCSANOW, &saved)
                stderrWrite("\n")
            }
        }
        return readLine(strippingNewline: true)
    }
}

/// What `image pull` prints as it goes: on a terminal one line redrawn (layers done, bytes of
/// the total), otherwise a line per layer.
final class PullProgress: Sendable {
    private struct State {
        var sizes: [String: Int64] = [:]
        var received: [String: Int64] = [:]
        var done = 0
        var total = 0
        var lastDraw = 0.0
    }
    let reference: String
    let terminal: Bool
    let quiet: Bool
    private let state = Mutex(State())

    init(reference: String, terminal: Bool, quiet: Bool) {
        (self.reference, self.terminal, self.quiet) = (reference, terminal, quiet)
    }

    func show(_ event: ImageStore.PullEvent) {
        guard !quiet else { return }
        state.withLock { s in
            switch event {
            case .resolved(let manifest, let layers, let present):
                s.total = layers.count
                for layer in layers { s.sizes[layer.digest] = layer.size }
                if !terminal {
                    stderrWrite("Pulling \(reference) (\(manifest)): \(layers.count) layers, \(present) already present\n")
                }
            case .progress(let digest, let received, let total):
                s.received[digest] = received
                if s.sizes[digest] ?? 0 == 0 { s.sizes[digest] = total }
            case .layerDone(let digest, let fetched, let resumedFrom):
                s.done += 1
                s.received[digest] = s.sizes[digest] ?? fetched
                if !terminal {
                    let short = String(digest.dropFirst(7).prefix(12))
                    let how =
                        fetched == 0 && resumedFrom == 0
                        ? "already present" : resumedFrom > 0 ? "resumed at \(resumedFrom) bytes, \(fetched) fetched" : "\(fetched) bytes"
                    stderrWrite("Copying blob \(short) done (\(how))\n")
                }
            }
            guard terminal else { return }
            let now = monotonicSeconds()
            if case .progress = event, now - s.lastDraw < 0.1 { return }
            s.lastDraw = now
            let have = s.received.values.reduce(0, +)
            let all = s.sizes.values.reduce(0, +)
            stderrWrite("\r\u{1B}[KPulling \(reference): \(s.done)/\(s.total) layers, \(ImageCommand.size(have)) / \(ImageCommand.size(all))")
        }
    }

    func finish() {
        if terminal && !quiet { stderrWrite("\n") }
    }
}

/// CLOCK_MONOTONIC in seconds.
func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
