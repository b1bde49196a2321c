/// Images before a container starts, as kubelet's image manager does it (DESIGN §8.2): the pull
/// policy, pulls that run while the owner goes on, kubelet's events and waiting reasons, and
/// the image backoff.
extension PodRuntime {
    /// A pull under way: what it fetches, since when, and the containers whose start waits.
    struct PullState {
        let reference: String
        let startedAt: Double
        var waiters: [(record: PodRecord, container: String, image: String)] = []
        /// `pullImage` callers waiting for the outcome.
        var callers = 0
    }

    /// kubelet's image backoff: 10 s, doubling, at most 300 s (`MaxContainerBackOff`).
    static let imageBackoffInitial: Double = 10
    static let imageBackoffMaximum: Double = 300
    /// How long a container whose image cannot be used without a pull (ErrImageNeverPull) or
    /// whose reference does not parse waits before the runtime looks again (kubelet looks at
    /// each pod sync: an image loaded meanwhile is then used).
    static let imageRecheckSeconds: Double = 10

    /// The image the container at `index` starts on, or nil when its start must wait: a pull
    /// began (or is under way), or the image cannot be had now (the container waits with
    /// kubelet's reason).
    func prepareImage(_ record: PodRecord, _ index: Int, _ spec: ContainerSpec, _ images: any ImageBackend) -> ImageInfo? {
        let progress = record.containers[index].image ?? ImageProgress()
        if record.containers[index].image == nil { record.containers[index].image = progress }
        if let pulled = progress.pulled {
            progress.pulled = nil
            return pulled
        }
        let name = spec.name
        let image = spec.image
        let written: ImageReference
        do {
            written = try ImageReference(parsing: image)
        } catch {
            let message = "Failed to apply default image tag \"\(image)\": \(error)"
            wait(record, index, "InvalidImageName", message, retryAt: now + Self.imageRecheckSeconds)
            emit(record, .warning, "InspectFailed", name, message)
            emit(record, .warning, "Failed", name, "Error: InvalidImageName")
            return nil
        }
        let reference = written.resolved(defaultRegistry: images.defaultRegistry)
        let policy = spec.imagePullPolicy ?? written.defaultPullPolicy
        // Nothing to pull a name without a registry from: Always acts as IfNotPresent.
        let local = reference.registry == nil
        if policy != .always || local, let present = images.localImage(reference) {
            progress.retryAt = nil
            emit(record, .normal, "Pulled", name, "Container image \"\(image)\" already present on machine")
            return present
        }
        if policy == .never {
            let message = "Container image \"\(image)\" is not present with pull policy of Never"
            wait(record, index, "ErrImageNeverPull", message, retryAt: now + Self.imageRecheckSeconds)
            emit(record, .warning, "ErrImageNeverPull", name, message)
            emit(record, .warning, "Failed", name, "Error: ErrImageNeverPull")
            return nil
        }
        let id: PullID
        do {
            id = try beginPull(reference, images, credentials: pullCredentials(record, reference, container: name))
        } catch {
            pullFailed(record, index, image: image, message: error.message)
            return nil
        }
        pulls[id]?.waiters.append((record, name, image))
        progress.pull = id
        progress.retryAt = nil
        if case .waiting(let why, _) = record.containers[index].status.state, why == "PodInitializing" {
            record.containers[index].status.state = .waiting(reason: "ContainerCreating", message: nil)
        }
        emit(record, .normal, "Pulling", name, "Pulling image \"\(image)\"")
        return nil
    }

    /// The credentials the pod's `imagePullSecrets` give for `reference` (the first Secret that
    /// has an entry for its registry, as kubelet tries them in order); a Secret that cannot be
    /// found is kubelet's `FailedToRetrieveImagePullSecret` warning, and the pull goes on.
    func pullCredentials(_ record: PodRecord, _ reference: ImageReference, container: String) -> RegistryCredentials? {
        guard let registry = reference.registry else { return nil }
        var missing: [String] = []
        var found: RegistryCredentials?
        for pullSecret in record.spec.imagePullSecrets {
            guard let secret = pullSecret.secret ?? secrets[pullSecret.name] else {
                missing.append(pullSecret.name)
                continue
            }
            guard found == nil, case .success(let auths)? = secret.registryCredentials() else { continue }
            found = RegistryAuths.credentials(in: auths, registry: registry, repository: reference.repository)
        }
        if !missing.isEmpty {
            emit(
                record, .warning, "FailedToRetrieveImagePullSecret", container,
                "Unable to retrieve some image pull secrets (\(missing.joined(separator: ", "))); attempting to pull the image may not succeed.")
        }
        return found
    }

    /// The pull of `reference` (as `credentials`) under way, or a new one.
    func beginPull(
        _ reference: ImageReference, _ images: any ImageBackend, insecure: Bool = false, credentials: RegistryCredentials? = nil
    ) throws(BackendError) -> PullID {
        let key = reference.normalized + (credentials.map { " as " + $0.username } ?? "")
        if let id = pullsByReference[key] { return id }
        let id = try images.startPull(reference, options: PullOptions(insecure: insecure, credentials: credentials))
        pulls[id] = PullState(reference: key, startedAt: now)
        pullsByReference[key] = id
        return id
    }

    /// A pull ended: every container waiting for it goes on (or fails with ErrImagePull).
    func pullFinished(_ id: PullID, _ outcome: PullOutcome) {
        guard let pull = pulls.removeValue(forKey: id) else { return }
        if pullsByReference[pull.reference] == id { pullsByReference[pull.reference] = nil }
        if pull.callers > 0 { pullOutcomes[id] = outcome }
        let seconds = (now - pull.startedAt).formatted3
        for waiter in pull.waiters {
            let record = waiter.record
            guard !record.removed, let index = record.index(of: waiter.container),
                let progress = record.containers[index].image, progress.pull == id
            else { continue }
            progress.pull = nil
            switch outcome {
            case .pulled(let info):
                progress.pulled = info
                progress.delay = nil
                emit(
                    record, .normal, "Pulled", waiter.container,
                    "Successfully pulled image \"\(waiter.image)\" in \(seconds)s (\(seconds)s including waiting). Image size: \(info.size) bytes."
                )
            case .failed(let message):
                pullFailed(record, index, image: waiter.image, message: message)
            }
            markDirty(record)
        }
    }

    /// ErrImagePull: the container waits, and the next try comes after the image backoff.
    func pullFailed(_ record: PodRecord, _ index: Int, image: String, message: String) {
        let name = record.containers[index].name
        let progress = record.containers[index].image ?? ImageProgress()
        record.containers[index].image = progress
        let delay = progress.delay.map { min($0 * 2, Self.imageBackoffMaximum) } ?? Self.imageBackoffInitial
        progress.delay = delay
        wait(record, index, "ErrImagePull", message, retryAt: now + delay)
        emit(record, .warning, "Failed", name, "Failed to pull image \"\(image)\": \(message)")
        emit(record, .warning, "Failed", name, "Error: ErrImagePull")
    }

    /// ImagePullBackOff until the next try, the delay in the event (kubelet's words, and when).
    func imageBackOff(_ record: PodRecord, _ index: Int, until: Double) {
        let name = record.containers[index].name
        let image = record.containerSpec(index).image
        let delay = (record.containers[index].image?.delay ?? Self.imageBackoffInitial).formatted3
        record.containers[index].status.state = .waiting(reason: "ImagePullBackOff", message: "Back-off pulling image \"\(image)\"")
        emit(record, .normal, "BackOff", name, "Back-off \(delay)s pulling image \"\(image)\"")
        emit(record, .warning, "Failed", name, "Error: ImagePullBackOff")
    }

    func wait(_ record: PodRecord, _ index: Int, _ reason: String, _ message: String, retryAt: Double) {
        record.containers[index].status.state = .waiting(reason: reason, message: message)
        let progress = record.containers[index].image ?? ImageProgress()
        record.containers[index].image = progress
        progress.retryAt = retryAt
    }

    // MARK: Images for scripts and the CLI

    /// The backend's image store, or why there is none.
    func imageBackend(_ operation: String) throws(RuntimeError) -> any ImageBackend {
        guard let images = imageStore else {
            throw .unsupported("\(operation): the \(backend.name) backend keeps no images")
        }
        return images
    }

    /// Pulls `image` (even when present, as `podman pull` does) and waits for it, supervising
    /// the pods meanwhile; a pull the runtime already runs for a container is shared.
    public func pullImage(
        _ image: String, insecure: Bool = false, credentials: RegistryCredentials? = nil, timeout: Double = 3600
    ) throws(RuntimeError) -> ImageInfo {
        try ensureOpen()
        let images = try imageBackend("pull")
        let reference: ImageReference
        do {
            reference = try ImageReference.resolve(image, on: images)
        } catch {
            throw .unsupported("pull \(image): \(error)")
        }
        let id: PullID
        do {
            id = try beginPull(reference, images, insecure: insecure, credentials: credentials)
        } catch {
            throw .backend(error)
        }
        pulls[id]?.callers += 1
        let finished = waitLoop(deadline: now + max(0, timeout)) { pullOutcomes[id] != nil }
        guard finished, let outcome = pullOutcomes[id] else {
            pulls[id]?.callers -= 1
            throw .timeout("pull \(image): not done after \(timeout.formatted3) s")
        }
        if pulls[id] == nil {
            // The last caller takes the outcome away.
            pullOutcomes[id] = nil
        }
        switch outcome {
        case .pulled(let info): return info
        case .failed(let message): throw .unsupported("pull \(image): \(message)")
        }
    }

    /// The images of the backend's store.
    public func images() throws(RuntimeError) -> [ImageInfo] {
        try imageBackend("images").images()
    }

    /// The image `image` names in the store, or nil.
    public func inspectImage(_ image: String) throws(RuntimeError) -> ImageInfo? {
        let images = try imageBackend("inspect")
        do {
            return images.localImage(try ImageReference.resolve(image, on: images))
        } catch {
            throw .unsupported("inspect \(image): \(error)")
        }
    }
}
