import CPodSpawn
import PodKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The store as the runtime sees it (`ImageBackend`): every image but the host's root goes
/// through the pull policy and has its config applied.
extension LinuxBackend: ImageBackend {
    public func managesImage(_ image: String) -> Bool { !image.isEmpty && image != ImageStore.hostImage }

    public func localImage(_ reference: ImageReference) -> ImageInfo? {
        store.image(for: reference.normalized).map { store.info($0.reference, $0.image) }
    }

    public var defaultRegistry: String? { options.defaultRegistry }

    public func startPull(_ reference: ImageReference, options pull: PullOptions) throws(BackendError) -> PullID {
        let id = PullID(makeID())
        let name = reference.normalized
        guard let registry = reference.registry else {
            pending.append(
                .imagePulled(
                    id,
                    .failed(
                        "\"\(name)\" names no registry and is not in the store \(store.directory) (podsh image load or import it, or set the backend's defaultRegistry)"
                    )))
            return id
        }
        var credentials = pull.credentials
        if credentials == nil {
            do {
                credentials = try RegistryAuthFile.lookup(
                    registry: registry, repository: reference.repository,
                    paths: options.authFile.map { [$0] } ?? RegistryAuthFile.searchPaths)
            } catch {
                pending.append(.imagePulled(id, .failed(error.message)))
                return id
            }
        }
        let settings = ImageStore.PullSettings(insecure: pull.insecure || options.isInsecure(registry), credentials: credentials)
        let cancel = ImageStore.PullCancel()
        let store = self.store
        let mailbox = pullMailbox
        let thread = LinuxThread.start {
            let outcome: PullOutcome
            do throws(BackendError) {
                let image = try store.pull(reference, settings: settings, cancel: cancel)
                outcome = .pulled(image)
            } catch {
                outcome = .failed(error.message)
            }
            mailbox.post(id, outcome)
        }
        pullsRunning[id] = (thread, cancel)
        return id
    }

    /// The outcomes of the pulls that ended, as events (their threads joined).
    func collectPulls() {
        for (id, outcome) in pullMailbox.take() {
            pullsRunning.removeValue(forKey: id)?.thread.join()
            pending.append(.imagePulled(id, outcome))
        }
    }

    /// Cancels every pull under way and waits for their threads (a pull stops at its next
    /// read; what it fetched stays in `tmp/` for the next pull to resume).
    func stopPulls() {
        for (_, pull) in pullsRunning { pull.cancel.cancel() }
        for (_, pull) in pullsRunning { pull.thread.join() }
        pullsRunning = [:]
        _ = pullMailbox.take()
    }

    public func images() -> [ImageInfo] {
        store.list().map { store.info($0.reference, $0.image) }
    }
}

/// Where pull threads leave their outcomes for the owner's thread, which a pipe wakes.
final class PullMailbox: Sendable {
    private let outcomes = Mutex<[(PullID, PullOutcome)]>([])
    private let ends: (read: Int32, write: Int32)
    /// Readable while outcomes wait (the owner polls it with the pidfds).
    var fd: Int32 { ends.read }

    init() {
        var fds: [Int32] = [-1, -1]
        if podspawn_pipe(&fds) != 0 {
            fds = [-1, -1]
        } else {
            for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        }
        ends = (fds[0], fds[1])
    }

    deinit {
        if ends.read >= 0 { close(ends.read) }
        if ends.write >= 0 { close(ends.write) }
    }

    func post(_ id: PullID, _ outcome: PullOutcome) {
        outcomes.withLock { $0.append((id, outcome)) }
        var one: UInt8 = 1
        _ = write(ends.write, &one, 1)
    }

    func take() -> [(PullID, PullOutcome)] {
        var drain = [UInt8](repeating: 0, count: 64)
        while ends.read >= 0, read(ends.read, &drain, drain.count) > 0 {}
        return outcomes.withLock { taken in
            defer { taken = [] }
            return taken
        }
    }
}
