import PodKit

/// The store as the runtime sees it (`ImageBackend`): every image but the host's root goes
/// through the pull policy and has its config applied.
extension LinuxBackend: ImageBackend {
    public func managesImage(_ image: String) -> Bool { !image.isEmpty && image != ImageStore.hostImage }

    public var defaultRegistry: String? { nil }

    public func localImage(_ reference: ImageReference) -> ImageInfo? {
        store.image(for: reference.normalized).map { store.info($0.reference, $0.image) }
    }

    public func startPull(_ reference: ImageReference, options: PullOptions) throws(BackendError) -> PullID {
        let id = PullID(makeID())
        let name = reference.normalized
        let why =
            reference.registry == nil
            ? "\"\(name)\" names no registry and is not in the store \(store.directory) (podsh image load or import it)"
            : "pulling from a registry is not available yet in this build: load the image (podsh image load) or import it"
        pending.append(.imagePulled(id, .failed(why)))
        return id
    }

    public func images() -> [ImageInfo] {
        store.list().map { store.info($0.reference, $0.image) }
    }
}
