import PodKit

/// The sim's images (DESIGN §8.2): `pod.sim.image{...}` registers one with an OCI config. A
/// reference without a registry host is an image of the local store at once; one with a
/// registry host is in that (simulated) registry until a pull brings it into the store, which
/// takes `pullSeconds` of virtual time (an image registered with `credentials` is pulled only
/// with them: a pod's `imagePullSecrets`, `pod.image.pull`'s `creds`). Until a first image is registered the sim manages no
/// image at all (any name runs, `command` is required), as it always did.
public final class SimImages {
    struct Entry {
        var info: ImageInfo
        var pullSeconds: Double
        /// The credentials its registry asks for (nil: anyone may pull).
        var credentials: RegistryCredentials?
    }

    /// Every registered image, by normalized reference.
    private var registered: [String: Entry] = [:]
    /// What the store holds, by normalized reference.
    private var store: [String: ImageInfo] = [:]

    public init() {}

    /// Whether any image was registered: only then are image references checked.
    public var isEnabled: Bool { !registered.isEmpty }

    /// Registers an image under `reference` (replacing one of that reference). Its id is the
    /// digest of its OCI config document, as for real images.
    @discardableResult
    public func register(
        _ reference: String, config: ImageConfig, size: Int64? = nil, pullSeconds: Double = 0,
        credentials: RegistryCredentials? = nil
    ) throws(ImageReferenceError) -> ImageInfo {
        let parsed = try ImageReference(parsing: reference)
        let document = SpecNode(
            .map([
                .init("architecture", SpecNode(.string("amd64"))), .init("config", config.node),
                .init("os", SpecNode(.string("linux"))),
                .init("rootfs", SpecNode(.map([.init("diff_ids", SpecNode(.array([]))), .init("type", SpecNode(.string("layers")))]))),
            ])
        ).jsonText
        let info = ImageInfo(
            reference: parsed.normalized, id: SHA256.digest(of: document), size: size ?? Int64(document.utf8.count),
            config: config)
        registered[parsed.normalized] = Entry(info: info, pullSeconds: pullSeconds, credentials: credentials)
        if parsed.registry == nil { store[parsed.normalized] = info } else { store[parsed.normalized] = nil }
        return info
    }

    func local(_ reference: ImageReference) -> ImageInfo? { store[reference.normalized] }

    /// What a pull of `reference` gives, and after how long.
    func pull(_ reference: ImageReference, as credentials: RegistryCredentials?) -> (outcome: PullOutcome, seconds: Double) {
        let key = reference.normalized
        guard reference.registry != nil else {
            // A local name: there is nothing to pull it from.
            return (.failed("\"\(key)\" names no registry and is not in the store"), 0)
        }
        guard let entry = registered[key] else {
            return (.failed("failed to resolve reference \"\(key)\": \(key): not found"), 0)
        }
        if let required = entry.credentials, required != credentials {
            // A real registry's words (distribution's 401), after the round trip.
            let registry = reference.registry ?? ""
            let why =
                credentials == nil
                ? "\(registry): unauthorized: authentication required (podsh image login \(registry), or --creds)"
                : "\(registry): unauthorized (UNAUTHORIZED: authentication required): the credentials were refused"
            return (.failed(why), min(entry.pullSeconds, 1))
        }
        return (.pulled(entry.info), entry.pullSeconds)
    }

    func stored(_ info: ImageInfo) { store[info.reference] = info }

    var all: [ImageInfo] { store.values.sorted { $0.reference < $1.reference } }
}

extension SimBackend: ImageBackend {
    public func managesImage(_ image: String) -> Bool { imageRegistry.isEnabled }

    public var defaultRegistry: String? { nil }

    public func localImage(_ reference: ImageReference) -> ImageInfo? { imageRegistry.local(reference) }

    public func startPull(_ reference: ImageReference, options: PullOptions) throws(BackendError) -> PullID {
        let id = PullID(nextPull())
        let (outcome, seconds) = imageRegistry.pull(reference, as: options.credentials)
        kernel.schedule(after: seconds) { [weak self] in
            guard let self else { return }
            if case .pulled(let info) = outcome { self.imageRegistry.stored(info) }
            self.finishedPulls.append(.imagePulled(id, outcome))
        }
        return id
    }

    public func images() -> [ImageInfo] { imageRegistry.all }

    /// An image's User as the sim runs it: numeric `uid[:gid]`, or `root` / `nobody` (the only
    /// names the sim's images have).
    public static func credentials(_ user: String) -> (uid: Int, gid: Int)? {
        let parts = user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        func number(_ text: String) -> Int? {
            switch text {
            case "root": return 0
            case "nobody", "nogroup": return 65534
            default: return Int(text).flatMap { (0...4_294_967_294).contains($0) ? $0 : nil }
            }
        }
        guard let uid = number(parts[0]) else { return nil }
        if parts.count == 1 { return (uid, parts[0] == "nobody" ? 65534 : uid) }
        guard let gid = number(parts[1]) else { return nil }
        return (uid, gid)
    }
}
