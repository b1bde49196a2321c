import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// The ID ranges of `hostUsers: false` pods: 65536 host IDs each, from `idRangeBase` up, one
/// range per pod record that names one — so a range is taken while the record exists (its
/// owner dead or alive) and free once `rm` or `gc` removed the pod. Allocation takes a lock
/// file of the state directory, so two owners never take the same range.
extension LinuxState {
    public static let idRangeSize: UInt32 = 65536
    /// The first range: 2^30, above the IDs of host users and the usual /etc/subuid ranges.
    public static let idRangeBase: UInt32 = 1 << 30
    /// At most this many ranges (up to 2^31, the largest ID Kubernetes allows).
    public static let idRangeCount: UInt32 = 16384

    /// The ranges the records of the pods directory take, staging records included.
    func takenIDRanges() -> Set<UInt32> {
        var taken: Set<UInt32> = []
        // Every record there, trusted or not, staging or placed: a range is free only once the
        // directory that names it is gone.
        for entry in LinuxSystem.entries(of: podsDirectory) where entry.isDirectory {
            guard let latest = Self.latestState(in: podsDirectory + "/" + entry.name) else { continue }
            if let range = LinuxPodRecord.parse(LinuxSystem.readFile(latest.path))?.idRange { taken.insert(range) }
        }
        return taken
    }

    /// Runs `body` with the lowest free range, holding the allocation lock until it returns
    /// (`body` writes the record that takes the range).
    func withFreeIDRange<T>(_ operation: String, _ body: (UInt32) throws(BackendError) -> T) throws(BackendError) -> T {
        let path = directory + "/userns.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemCall.failure("open", path, errno, operation: operation) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw SystemCall.failure("flock", path, errno, operation: operation) }
        }
        defer { flock(fd, LOCK_UN) }
        let taken = takenIDRanges()
        guard
            let free = (0..<Self.idRangeCount).lazy.map({ Self.idRangeBase + $0 * Self.idRangeSize }).first(where: { !taken.contains($0) })
        else {
            throw BackendError(.resourceExhausted, operation, "every user namespace ID range is taken (\(Self.idRangeCount) pods)")
        }
        return try body(free)
    }
}
