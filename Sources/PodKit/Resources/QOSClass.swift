/// A pod's quality-of-service class, as kubelet computes it (`pkg/apis/core/helper/qos`).
public enum QOSClass: String, Sendable, Equatable, CaseIterable {
    /// Every container (or the pod level) has cpu and memory limits equal to its requests.
    case guaranteed = "Guaranteed"
    /// Some request or limit is set, but the pod is not Guaranteed.
    case burstable = "Burstable"
    /// No request and no limit anywhere.
    case bestEffort = "BestEffort"
}
