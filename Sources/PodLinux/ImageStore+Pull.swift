import PodKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Pulls (the OCI distribution spec): the manifest (an index or a Docker manifest list gives
/// this machine's platform), the config, then the layers the store lacks — fetched in parallel,
/// each into `tmp/pull-<hex>.partial` under an flock, so two processes pulling one layer fetch
/// it once, and a pull killed halfway leaves a partial file the next pull resumes with a `Range`
/// request. Every document and blob is checked against its digest before it is used.
extension ImageStore {
    /// What a pull reports as it goes (from its worker threads, one call at a time).
    public enum PullEvent: Sendable {
        /// The manifest was resolved: the layers, and how many are already in the store.
        case resolved(manifest: String, layers: [(digest: String, size: Int64)], present: Int)
        /// Bytes of a layer arrived: received of total (total 0: unknown).
        case progress(digest: String, received: Int64, total: Int64)
        /// A layer was fetched (or found) and unpacked; `fetched` is the bytes that came over the network.
        case layerDone(digest: String, fetched: Int64, resumedFrom: Int64)
    }

    /// How to pull: insecure means plain HTTP.
    public struct PullSettings: Sendable {
        public var insecure: Bool
        public var credentials: RegistryCredentials?
        /// Layers fetched at once.
        public var parallel: Int
        public init(insecure: Bool = false, credentials: RegistryCredentials? = nil, parallel: Int = 3) {
            (self.insecure, self.credentials, self.parallel) = (insecure, credentials, max(1, parallel))
        }
    }

    /// A flag a pull looks at between (and during) requests; set it to stop the pull.
    public final class PullCancel: @unchecked Sendable {
        let flag: UnsafeMutablePointer<Int32>
        public init() {
            flag = .allocate(capacity: 1)
            flag.initialize(to: 0)
        }
        deinit { flag.deallocate() }
        public func cancel() { flag.pointee = 1 }
        public var isCancelled: Bool { flag.pointee != 0 }
    }

    /// Pulls `reference` (resolved: it names its registry) into the store and tags it.
    @discardableResult
    public func pull(
        _ reference: ImageReference, settings: PullSettings = PullSettings(), cancel: PullCancel? = nil,
        events: (@Sendable (PullEvent) -> Void)? = nil
    ) throws(BackendError) -> ImageInfo {
        let name = reference.normalized
        let operation = "pull \(name)"
        guard let registry = reference.registry else {
            throw BackendError(.unsupported, operation, "\"\(name)\" names no registry to pull from")
        }
        try prepare(operation)
        let client = RegistryClient(
            registry: registry, repository: reference.repository, insecure: settings.insecure, credentials: settings.credentials)
        let cancelFlag = cancel.map { UnsafePointer($0.flag) }
        func checkCancel() throws(BackendError) {
            if cancel?.isCancelled == true { throw BackendError(.unavailable, operation, "cancelled") }
        }
        // The manifest, through an index when there is one.
        var (manifest, manifestDigest) = try fetchManifest(
            client, reference.digest ?? reference.effectiveTag ?? "latest", expected: reference.digest, cancel: cancelFlag, operation: operation)
        var depth = 0
        while manifest.isIndex {
            try checkCancel()
            guard depth < 4 else { throw BackendError(.unsupported, operation, "\(name): indexes nested deeper than 4") }
            depth += 1
            let chosen = try Self.platformEntry(manifest.node, place: name, operation: operation)
            (manifest, manifestDigest) = try fetchManifest(client, chosen, expected: chosen, cancel: cancelFlag, operation: operation)
        }
        let node = manifest.node
        if let type = manifest.mediaType, !Self.manifestTypes.contains(type) {
            if type.contains("manifest.v1") {
                throw BackendError(.unsupported, operation, "\(name): Docker schema 1 manifests (\(type)) are not supported; push the image again with a current tool")
            }
            throw BackendError(.unsupported, operation, "\(name): the manifest has the media type \(type), not an image manifest")
        }
        guard let configDigest = node["config"]?["digest"]?.stringValue, let layerNodes = node["layers"]?.arrayValue else {
            throw BackendError(.unsupported, operation, "\(name): the manifest has no config or no layers")
        }
        try Self.checkDigestSyntax(configDigest, "the config", operation: operation)
        // The config.
        let configResponse = try client.get("blobs", configDigest, cancel: cancelFlag, operation: operation)
        guard configResponse.status == 200 else { throw client.failure(configResponse, "config \(configDigest)", operation: operation) }
        guard LayerArchive.digest(of: configResponse.body) == configDigest else {
            throw BackendError(.unsupported, operation, "\(name): the config \(configDigest) has the digest \(LayerArchive.digest(of: configResponse.body)): refused")
        }
        let configText = configResponse.text
        guard let configNode = try? JSONReader.parse(configText) else {
            throw BackendError(.unsupported, operation, "\(name): the config \(configDigest) is not JSON")
        }
        let diffIDs = configNode["rootfs"]?["diff_ids"]?.arrayValue?.compactMap { $0.stringValue } ?? []
        guard diffIDs.count == layerNodes.count else {
            throw BackendError(.unsupported, operation, "\(name): the config lists \(diffIDs.count) diff ids for \(layerNodes.count) layers")
        }
        var layers: [(digest: String, size: Int64, diffID: String)] = []
        for (i, layer) in layerNodes.enumerated() {
            guard let digest = layer["digest"]?.stringValue else {
                throw BackendError(.unsupported, operation, "\(name): layers[\(i)] has no digest")
            }
            try Self.checkDigestSyntax(digest, "layers[\(i)]", operation: operation)
            if let type = layer["mediaType"]?.stringValue, type.contains("nondistributable") || type.contains("foreign") {
                // Foreign layers (Windows base images) live elsewhere: a linux image has none.
                throw BackendError(.unsupported, operation, "\(name): layers[\(i)] is a foreign layer (\(type))")
            }
            layers.append((digest, Int64(layer["size"]?.integerValue ?? 0), diffIDs[i]))
        }
        let present = layers.filter { self.layer(diffID: $0.diffID) != nil }.count
        events?(.resolved(manifest: manifestDigest, layers: layers.map { ($0.digest, $0.size) }, present: present))
        // The layers, `parallel` at a time; the first failure stops the others.
        let work = PullWork(count: layers.count, stop: cancel ?? PullCancel(), events: events)
        let store = self
        let items = layers
        let threads = (0..<min(settings.parallel, max(1, layers.count))).map { _ in
            LinuxThread.start {
                while let index = work.take() {
                    let item = items[index]
                    do throws(BackendError) {
                        let layer = try store.fetchLayer(
                            client, digest: item.digest, size: item.size, diffID: item.diffID, stop: work.stop,
                            events: work.report, operation: operation)
                        work.finished(index, layer)
                    } catch {
                        work.failed(error)
                        return
                    }
                }
            }
        }
        for thread in threads { thread.join() }
        if let error = work.error { throw error }
        try checkCancel()
        let stored = work.layers
        guard stored.count == layers.count else { throw BackendError(.unavailable, operation, "\(name): a layer was not fetched") }
        return try locked(operation) { () throws(BackendError) -> ImageInfo in
            let image = try commit(config: configText, layers: stored, references: [name], operation: operation)
            return info(name, image)
        }
    }

    /// A manifest document as fetched: its node, media type (the body's, else the response's
    /// Content-Type, else guessed from its fields, as for umoci's manifests, which have none).
    struct FetchedManifest {
        var node: SpecNode
        var mediaType: String?
        var isIndex: Bool {
            if let mediaType { return ImageStore.indexTypes.contains(mediaType) }
            return node["manifests"] != nil && node["layers"] == nil
        }
    }

    func fetchManifest(
        _ client: RegistryClient, _ reference: String, expected: String?, cancel: UnsafePointer<Int32>?, operation: String
    ) throws(BackendError) -> (FetchedManifest, String) {
        let what = "manifest \(reference)"
        let response = try client.get("manifests", reference, accept: RegistryClient.manifestAccept, cancel: cancel, operation: operation)
        guard response.status == 200 else { throw client.failure(response, what, operation: operation) }
        let digest = LayerArchive.digest(of: response.body)
        if let expected, expected != digest {
            throw BackendError(.unsupported, operation, "\(client.registry)/\(client.repository): \(what) has the digest \(digest): refused")
        }
        let node: SpecNode
        do {
            node = try JSONReader.parse(response.text)
        } catch {
            throw BackendError(.unsupported, operation, "\(client.registry)/\(client.repository): \(what) is not JSON: \(error)")
        }
        var mediaType = node["mediaType"]?.stringValue
        if mediaType == nil, let type = response.contentType, Self.manifestTypes.contains(type) || Self.indexTypes.contains(type) || type.contains("manifest.v1") {
            mediaType = type
        }
        return (FetchedManifest(node: node, mediaType: mediaType), digest)
    }

    /// The digest of this machine's platform's manifest in an index.
    static func platformEntry(_ index: SpecNode, place: String, operation: String) throws(BackendError) -> String {
        let chosen = try platformDescriptor(index, place: place, operation: operation)
        let digest = chosen["digest"]?.stringValue ?? ""
        try checkDigestSyntax(digest, "the index entry for linux/\(hostArchitecture)", operation: operation)
        return digest
    }

    static func checkDigestSyntax(_ digest: String, _ what: String, operation: String) throws(BackendError) {
        guard digest.hasPrefix("sha256:"), digest.utf8.count == 71, isHex(digest.dropFirst(7)) else {
            throw BackendError(.unsupported, operation, "\(what) has the digest \"\(digest)\" (sha256:<64 hex> expected)")
        }
    }

    /// The path a layer blob is fetched to.
    func partialPath(_ digest: String) -> String { tmpDir + "/pull-" + digest.dropFirst(7) + ".partial" }

    /// Fetches one layer blob (resuming what a partial file holds) and unpacks it; the layer.
    func fetchLayer(
        _ client: RegistryClient, digest: String, size: Int64, diffID: String, stop: PullCancel,
        events: (@Sendable (PullEvent) -> Void)?, operation: String
    ) throws(BackendError) -> Layer {
        func stopped() -> Bool { stop.isCancelled }
        if let existing = layer(diffID: diffID) {
            events?(.layerDone(digest: digest, fetched: 0, resumedFrom: 0))
            return existing
        }
        let path = partialPath(digest)
        // One fetcher per blob across processes: the partial file's flock. Whoever waited finds
        // the blob stored (or the layer unpacked) when it gets the lock.
        var fd: Int32 = -1
        while true {
            if stopped() { throw BackendError(.unavailable, operation, "cancelled") }
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw SystemCall.failure("open", path, errno, operation: operation) }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                // Still the file at `path` (not one a finished fetcher renamed into the store)?
                var mine = stat(), named = stat()
                if fstat(fd, &mine) == 0, stat(path, &named) == 0, mine.st_ino == named.st_ino, mine.st_dev == named.st_dev { break }
                close(fd)
                continue
            }
            close(fd)
            if let existing = layer(diffID: diffID) { return existing }
            usleep(20_000)
        }
        defer {
            // A fetch that failed before its first byte leaves no empty partial file behind.
            // (Only while `path` is still this file: another pull may have made a new one.)
            var mine = stat(), named = stat()
            if fstat(fd, &mine) == 0, mine.st_size == 0, stat(path, &named) == 0, named.st_ino == mine.st_ino, named.st_dev == mine.st_dev {
                unlink(path)
            }
            close(fd)
        }
        if let existing = layer(diffID: diffID) {
            unlink(path)
            events?(.layerDone(digest: digest, fetched: 0, resumedFrom: 0))
            return existing
        }
        var fetched: Int64 = 0
        var resumedFrom: Int64 = 0
        // The layer is unpacked as its blob comes: a thread reads the partial file as it grows.
        var stream: LayerStream?
        defer { stream?.abort() }
        if blobPath(digest) == nil {
            var info = stat()
            fstat(fd, &info)
            var have = Int64(info.st_size)
            resumedFrom = have
            stream = LayerStream.start(partial: path, directory: unpackPath(digest), operation: operation)
            var attempts = 0
            while true {
                attempts += 1
                lseek(fd, 0, SEEK_END)
                let already = have
                let response = try client.get(
                    "blobs", digest, bodyFD: fd, rangeFrom: have, cancel: UnsafePointer(stop.flag), follow: stream?.follow.handle,
                    progress: { received, total in
                        events?(.progress(digest: digest, received: already + received, total: size > 0 ? size : already + total))
                    }, operation: operation)
                fetched += response.written
                if stopped() { throw BackendError(.unavailable, operation, "cancelled") }
                if response.status == 416 && have > 0 {
                    // Nothing after what the file holds: it may be whole already.
                } else if response.status != 200 && response.status != 206 {
                    throw client.failure(response, "layer \(digest)", operation: operation)
                }
                if response.restarted { resumedFrom = 0 }
                fstat(fd, &info)
                have = Int64(info.st_size)
                // The stream's reading of the whole file gives its digest; without one (it
                // stopped, or the file was started over under it), the file is read again.
                let actual: String
                if let streamed = stream?.finish(), streamed.blobBytes == have {
                    actual = streamed.blobDigest
                } else {
                    stream?.abort()
                    actual = try LayerArchive.digest(ofFile: path).digest
                }
                if actual == digest { break }
                stream?.abort()
                stream = nil
                // A resumed file that does not add up is fetched once more from the start.
                if resumedFrom > 0 && attempts == 1 {
                    _ = ftruncate(fd, 0)
                    have = 0
                    resumedFrom = 0
                    continue
                }
                _ = ftruncate(fd, 0)
                unlink(path)
                throw BackendError(.unsupported, operation, "\(client.registry)/\(client.repository): layer \(digest) has the digest \(actual): refused")
            }
        }
        let layer = try locked(operation) { () throws(BackendError) -> Layer in
            if blobPath(digest) == nil {
                // Moved in (it is in tmp/); its digest was checked as it came.
                try addBlob(file: path, expected: digest, checked: true, operation: operation)
            } else {
                unlink(path)
            }
            if let stream, let result = stream.result {
                // Unpacked as it came: the directory becomes the layer (or, when it does not
                // hold what the config says, is removed and the blob unpacked as a stored one
                // would be, for the reason in the usual words).
                if let layer = try? adoptLayer(stream.directory, result, blob: digest, diffID: diffID, operation: operation) {
                    stream.adopted()
                    return layer
                }
                stream.abort()
            }
            return try unpackLayer(blob: digest, diffID: diffID, operation: operation)
        }
        events?(.layerDone(digest: digest, fetched: fetched, resumedFrom: resumedFrom))
        return layer
    }

    /// Where a pull unpacks a layer while it fetches its blob.
    func unpackPath(_ digest: String) -> String { tmpDir + "/pull-" + digest.dropFirst(7) + ".unpack" }
}

/// A layer unpacked from its blob's partial file while the blob is still being fetched: a thread
/// runs the extractor, which waits at the end of what has come so far (`podimage_follow`). Its
/// directory is `tmp/pull-<hex>.unpack`, flocked while it is in use (so `prune` leaves it; a
/// killed pull's is removed by `prune` or the next pull of the blob, which holds the partial
/// file's lock when it makes a new one).
final class LayerStream: @unchecked Sendable {
    let follow: LayerArchive.Follow
    let directory: String
    private let lockFD: Int32
    private let archiveFD: Int32
    private var thread: LinuxThread?
    /// Set by the thread; read after `join`.
    private var outcome: LayerArchive.Result?
    private(set) var aborted = false
    private var done = false

    private init(follow: LayerArchive.Follow, directory: String, lockFD: Int32, archiveFD: Int32) {
        (self.follow, self.directory, self.lockFD, self.archiveFD) = (follow, directory, lockFD, archiveFD)
    }

    /// Starts unpacking `partial` into `directory` (a leftover there removed first); nil when it
    /// cannot (the pull then unpacks the blob once it has it).
    static func start(partial: String, directory: String, operation: String) -> LayerStream? {
        LinuxSystem.removeTree(directory)
        guard mkdir(directory, 0o755) == 0 else { return nil }
        let lockFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        let archiveFD = open(partial, O_RDONLY | O_CLOEXEC)
        guard lockFD >= 0, archiveFD >= 0, flock(lockFD, LOCK_EX | LOCK_NB) == 0, let follow = LayerArchive.Follow() else {
            if lockFD >= 0 { close(lockFD) }
            if archiveFD >= 0 { close(archiveFD) }
            LinuxSystem.removeTree(directory)
            return nil
        }
        let stream = LayerStream(follow: follow, directory: directory, lockFD: lockFD, archiveFD: archiveFD)
        stream.thread = LinuxThread.start {
            stream.outcome = try? LayerArchive.extract(fd: archiveFD, into: directory, follow: stream.follow, operation: operation)
        }
        return stream
    }

    /// No more bytes come: waits for the extraction; what it read (nil: it failed, or what it
    /// read was void — the transfer started the file over under it).
    func finish() -> LayerArchive.Result? {
        guard !aborted else { return nil }
        if !done {
            follow.finish()
            join()
            if follow.isAborted { outcome = nil }
        }
        return outcome
    }

    /// The extraction's result once finished (nil while running, when it failed or was aborted).
    var result: LayerArchive.Result? { done && !aborted ? outcome : nil }

    /// Stops the extraction (if it runs) and removes its directory; idempotent.
    func abort() {
        guard !aborted else { return }
        aborted = true
        follow.abort()
        join()
        LinuxSystem.removeTree(directory)
        release()
    }

    /// The directory became a layer (renamed away): only the lock and the fds are left to close.
    func adopted() {
        aborted = true
        release()
    }

    private func join() {
        guard !done else { return }
        thread?.join()
        done = true
    }

    private var released = false
    private func release() {
        guard !released else { return }
        released = true
        close(archiveFD)
        close(lockFD)
    }

    deinit { abort() }
}

/// The layers of one pull, shared by its worker threads.
final class PullWork: Sendable {
    private struct State {
        var next = 0
        var done: [Int: ImageStore.Layer] = [:]
        var error: BackendError?
    }
    private let state = Mutex(State())
    private let eventLock = Mutex(0)
    let count: Int
    let stop: ImageStore.PullCancel
    private let events: (@Sendable (ImageStore.PullEvent) -> Void)?

    init(count: Int, stop: ImageStore.PullCancel, events: (@Sendable (ImageStore.PullEvent) -> Void)?) {
        (self.count, self.stop, self.events) = (count, stop, events)
    }

    /// The next layer to fetch, or nil (all taken, or the pull stopped).
    func take() -> Int? {
        state.withLock { s in
            guard s.next < count, s.error == nil, !stop.isCancelled else { return nil }
            defer { s.next += 1 }
            return s.next
        }
    }

    func finished(_ index: Int, _ layer: ImageStore.Layer) { state.withLock { $0.done[index] = layer } }

    func failed(_ error: BackendError) {
        state.withLock { if $0.error == nil { $0.error = error } }
        stop.cancel()
    }

    var error: BackendError? { state.withLock { $0.error } }
    var layers: [ImageStore.Layer] { state.withLock { s in (0..<count).compactMap { s.done[$0] } } }

    /// The caller's events, one at a time.
    var report: (@Sendable (ImageStore.PullEvent) -> Void)? {
        guard let events else { return nil }
        return { event in self.eventLock.withLock { _ in events(event) } }
    }
}

/// A POSIX thread running a Swift closure (the pull's workers); `join` waits for it.
final class LinuxThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: @Sendable () -> Void

    private init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    static func start(_ body: @escaping @Sendable () -> Void) -> LinuxThread {
        let box = LinuxThread(body)
        let context = Unmanaged.passRetained(box).toOpaque()
        let code = pthread_create(&box.thread, nil, { context in
            let box = Unmanaged<LinuxThread>.fromOpaque(context!).takeRetainedValue()
            box.body()
            return nil
        }, context)
        if code != 0 {
            // No thread: run it here.
            Unmanaged<LinuxThread>.fromOpaque(context).release()
            box.body()
            box.ran = true
        }
        return box
    }

    private var ran = false

    func join() {
        if !ran { pthread_join(thread, nil) }
    }
}
