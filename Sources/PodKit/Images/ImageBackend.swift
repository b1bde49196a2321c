/// A backend that keeps images: what the runtime asks before it starts a container (DESIGN
/// §8.2). A backend that is not one runs any `image` as it is (the runtime applies no image
/// config and never pulls).
public protocol ImageBackend: PodBackend {
    /// Whether `image` goes through the image rules at all: false for what the backend runs
    /// without an image store (the linux backend's `host`; the sim until a script registers an
    /// image).
    func managesImage(_ image: String) -> Bool
    /// The registry a reference without a registry host is pulled from; nil (the default): such
    /// a reference is a local image of the store, and there is nothing to pull it from.
    var defaultRegistry: String? { get }
    /// The image in the store for `reference` (already resolved against `defaultRegistry`).
    func localImage(_ reference: ImageReference) -> ImageInfo?
    /// Starts pulling `reference` (resolved); the outcome comes later from `poll` as
    /// `BackendEvent.imagePulled` with the returned id. A pull that cannot even start (no
    /// registry to pull a local name from) still gets an id and a failed outcome.
    func startPull(_ reference: ImageReference, options: PullOptions) throws(BackendError) -> PullID
    /// Every image in the store, sorted by reference.
    func images() -> [ImageInfo]
}

/// A backend's handle of a pull it started.
public struct PullID: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public var description: String { "pull-\(rawValue)" }
}

/// How to pull.
public struct PullOptions: Sendable, Equatable {
    /// Plain HTTP is allowed for this registry.
    public var insecure: Bool
    /// Who to be at the registry (from the pod's `imagePullSecrets`, `--creds`); nil: the
    /// backend's own credentials (an auth file), or anonymous.
    public var credentials: RegistryCredentials?

    public init(insecure: Bool = false, credentials: RegistryCredentials? = nil) {
        (self.insecure, self.credentials) = (insecure, credentials)
    }
}

/// A user name and password (or token) for a registry.
public struct RegistryCredentials: Sendable, Equatable, CustomStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) { (self.username, self.password) = (username, password) }

    /// `USER:PASSWORD` (`--creds`, an auth file's decoded `auth`): split at the first colon.
    public init?(joined text: String) {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else { return nil }
        self.init(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
    }

    /// Never the password.
    public var description: String { "\(username):***" }
}

/// How a pull ended.
public enum PullOutcome: Sendable, Equatable {
    case pulled(ImageInfo)
    /// Why, in the registry's or the store's words.
    case failed(String)
}

extension ImageReference {
    /// Parses `image` and resolves it against `backend`'s default registry.
    public static func resolve(_ image: String, on backend: any ImageBackend) throws(ImageReferenceError) -> ImageReference {
        try ImageReference(parsing: image).resolved(defaultRegistry: backend.defaultRegistry)
    }
}
