/// swift-pods' version, shared by the library, the Lua module and `podsh`.
public enum PodCoreVersion {
    /// Semantic version of this build.
    public static let string = "0.1.0"
}
