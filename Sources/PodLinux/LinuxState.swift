import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// A process as recorded: its pid and its start time (field 22 of /proc/PID/stat), so that a
/// reused pid is never mistaken for it (with the boot id of the record: /run may not be a tmpfs).
public struct ProcessStamp: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var start: UInt64

    public init(pid: Int32, start: UInt64) {
        (self.pid, self.start) = (pid, start)
    }

    /// The stamp of a live process, or nil.
    public static func of(_ pid: Int32) -> ProcessStamp? {
        guard let start = LinuxState.startTime(of: pid) else { return nil }
        return ProcessStamp(pid: pid, start: start)
    }

    /// Whether this very process still exists (not a zombie, not a reused pid).
    public var isAlive: Bool {
        guard let stat = LinuxState.processStat(of: pid), stat.state != "Z", stat.start == start else { return false }
        return true
    }

    public var description: String { "\(pid)@\(start)" }
}

/// What the state directory records of one pod (`<stateDir>/pods/<id>/state`), rewritten
/// whole and atomically (write, then rename) at every change, from before the first resource
/// is made until the pod directory is removed: a crash at any instant leaves enough to clean up.
public struct LinuxPodRecord: Sendable, Equatable {
    public struct Container: Sendable, Equatable {
        public var name: String
        public var run: Int
        public var process: ProcessStamp?
        public var cgroup: String
        public var exited: Bool
        /// The run's log shim (`pod-logger`), which outlives the run by the time it takes to
        /// write what the pipe still holds.
        public var logger: ProcessStamp? = nil
    }

    public var name: String
    /// The pod directory's name (`web-1a2b3c4d`), also its cgroup's last component.
    public var id: String
    public var uid: String
    public var hostname: String
    public var bootID: String
    public var owner: ProcessStamp
    public var detached: Bool
    public var cgroup: String
    public var cgroupVersion: String
    public var infra: ProcessStamp?
    public var forwarder: ProcessStamp?
    public var published: [String]
    public var mounts: [String]
    public var containers: [Container]
    /// `hostUsers: false`: the first host ID of the pod's 65536 (its user namespace maps 0..65535
    /// onto it); nil for a pod in the host's user namespace.
    public var idRange: UInt32?

    public init(
        name: String, id: String, uid: String, hostname: String, bootID: String, owner: ProcessStamp, cgroup: String,
        cgroupVersion: String
    ) {
        (self.name, self.id, self.uid, self.hostname, self.bootID, self.owner, self.detached, self.cgroup, self.cgroupVersion) =
            (name, id, uid, hostname, bootID, owner, false, cgroup, cgroupVersion)
        self.published = []
        self.mounts = []
        self.containers = []
    }

    /// Every process the record names: the pause, the forwarder, each container run and its
    /// log shim.
    public var processes: [ProcessStamp] {
        ([infra, forwarder] + containers.flatMap { [$0.process, $0.logger] }).compactMap { $0 }
    }

    /// Whether the process that owns the pod is still running (same boot, same process).
    public var ownerAlive: Bool { bootID == LinuxState.bootID && owner.isAlive }
    /// Whether the pause still runs.
    public var infraAlive: Bool { bootID == LinuxState.bootID && (infra?.isAlive ?? false) }

    // MARK: Text

    static func escape(_ text: String) -> String {
        let out = TextEscaping.escape(text) { scalar in
            switch scalar {
            case "%": return "%25"
            case " ": return "%20"
            case "\n": return "%0A"
            case "\t": return "%09"
            default: return nil
            }
        }
        return out.isEmpty ? "%" : out  // "%" alone: the empty string
    }

    static func unescape(_ text: Substring) -> String {
        text == "%" ? "" : decode(text, marker: "%", digits: 2, radix: 16)
    }

    /// `text` with each `marker` + `digits` digits in `radix` replaced by that byte.
    static func decode(_ text: Substring, marker: Character, digits: Int, radix: Int) -> String {
        var out = ""
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == marker, let end = text.index(i, offsetBy: digits + 1, limitedBy: text.endIndex),
                let byte = UInt8(text[text.index(after: i)..<end], radix: radix)
            {
                out.unicodeScalars.append(Unicode.Scalar(byte))
                i = end
            } else {
                out.append(text[i])
                i = text.index(after: i)
            }
        }
        return out
    }

    /// One `key value...` line per fact.
    public var text: String {
        func stamp(_ s: ProcessStamp?) -> String { s.map { "\($0.pid) \($0.start)" } ?? "- -" }
        var lines = [
            "swift-pods-state 1", "name \(Self.escape(name))", "id \(Self.escape(id))", "uid \(Self.escape(uid))",
            "hostname \(Self.escape(hostname))", "boot \(bootID)", "owner \(stamp(owner))",
            "detached \(detached ? 1 : 0)", "cgroup \(Self.escape(cgroup)) \(cgroupVersion)", "infra \(stamp(infra))",
            "forwarder \(stamp(forwarder))",
        ]
        if let idRange { lines.append("userns \(idRange) \(LinuxState.idRangeSize)") }
        lines += published.map { "published \(Self.escape($0))" }
        lines += mounts.map { "mount \(Self.escape($0))" }
        lines += containers.map {
            "container \(Self.escape($0.name)) \($0.run) \(stamp($0.process)) \(Self.escape($0.cgroup)) \($0.exited ? 1 : 0) \(stamp($0.logger))"
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Parses `text`; nil when it is not a state file of this version.
    public static func parse(_ text: String) -> LinuxPodRecord? {
        var record = LinuxPodRecord(
            name: "", id: "", uid: "", hostname: "", bootID: "", owner: ProcessStamp(pid: 0, start: 0),
            cgroup: "", cgroupVersion: "")
        var sawHeader = false
        func stamp(_ f: [Substring], _ at: Int) -> ProcessStamp? {
            // A pid of 0 or below is a process group or every process to kill(2): never one.
            guard f.count > at + 1, let pid = Int32(f[at]), pid > 0, let start = UInt64(f[at + 1]) else { return nil }
            return ProcessStamp(pid: pid, start: start)
        }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard let key = f.first else { continue }
            let value = f.count > 1 ? unescape(f[1]) : ""
            switch key {
            case "swift-pods-state": sawHeader = f.count > 1 && f[1] == "1"
            case "name": record.name = value
            case "id": record.id = value
            case "uid": record.uid = value
            case "hostname": record.hostname = value
            case "boot": record.bootID = value
            case "owner": record.owner = stamp(f, 1) ?? ProcessStamp(pid: 0, start: 0)
            case "detached": record.detached = value == "1"
            case "cgroup":
                record.cgroup = value
                record.cgroupVersion = f.count > 2 ? String(f[2]) : ""
            case "infra": record.infra = stamp(f, 1)
            case "forwarder": record.forwarder = stamp(f, 1)
            case "userns": record.idRange = UInt32(value)
            case "published": record.published.append(value)
            case "mount": record.mounts.append(value)
            case "container":
                guard f.count >= 7, let run = Int(f[2]) else { continue }
                record.containers.append(
                    Container(
                        name: value, run: run, process: stamp(f, 3), cgroup: unescape(f[5]),
                        exited: f[6] == "1", logger: stamp(f, 7)))
            default: continue
            }
        }
        return sawHeader && !record.id.isEmpty ? record : nil
    }
}

/// The state directory: pod records, and what can be done with them from any process — list,
/// stop, remove, collect the garbage an owner that died left.
public struct LinuxState: Sendable {
    public let directory: String
    public let cgroups: any CgroupDriver
    public let cgroupParent: String

    public init(directory: String, cgroups: any CgroupDriver, cgroupParent: String = "swift-pods") {
        (self.directory, self.cgroups, self.cgroupParent) = (directory, cgroups, cgroupParent)
    }

    /// Why the existing directory `path` (a state or image directory) must not be used, or nil
    /// (it is ours, or it does not exist yet): gc and rm act as root on what it holds, so one
    /// another user owns, or that group or others may write, could hold records made to steer
    /// them.
    public static func untrustedDirectory(_ path: String, what: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return "the \(what) \(path) is not a directory" }
        if info.st_uid != geteuid() {
            return "the \(what) \(path) is owned by uid \(info.st_uid), not by this user (uid \(geteuid())): refused"
        }
        if info.st_mode & 0o022 != 0 {
            let mode = String(info.st_mode & 0o7777, radix: 8)
            return "the \(what) \(path) may be written by its group or others (mode 0\(mode)): refused (chmod go-w \(path))"
        }
        return nil
    }

    /// This boot's id.
    public static let bootID: String = {
        let text = LinuxSystem.readFile("/proc/sys/kernel/random/boot_id")
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }()

    /// Field 3 (state) and field 22 (start time) of /proc/PID/stat.
    static func processStat(of pid: Int32) -> (state: Character, start: UInt64)? {
        let text = LinuxSystem.readFile("/proc/\(pid)/stat")
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let start = UInt64(fields[19]) else { return nil }
        return (state, start)
    }

    static func startTime(of pid: Int32) -> UInt64? { processStat(of: pid)?.start }

    var podsDirectory: String { directory + "/pods" }

    /// Writes a record into its pod directory as a new file, `state.N` with N one more than the
    /// last (written as `state.N.partial`, then renamed), then unlinks the one before: a reader
    /// takes the highest whole N, so a crash at any point leaves a whole record, and no file is
    /// ever replaced in place (ext4 flushes data on a rename over an existing file: milliseconds
    /// per write).
    public func write(_ record: LinuxPodRecord, into directory: String? = nil) throws(BackendError) {
        try StateLock.locked { () throws(BackendError) in try writeLocked(record, into: directory) }
    }

    private func writeLocked(_ record: LinuxPodRecord, into directory: String?) throws(BackendError) {
        let dir = directory ?? podsDirectory + "/" + record.id
        let previous = Self.latestState(in: dir)
        let next = (previous?.number ?? 0) + 1
        // Written under a name no reader takes, then renamed to a name nothing has: a crash
        // mid-write leaves the previous record the newest whole one.
        let file = dir + "/state.\(next)"
        let partial = file + ".partial"
        if let code = LinuxSystem.writeFile(partial, record.text, mode: 0o600) {
            unlink(partial)
            throw SystemCall.failure("write", partial, code, operation: "state")
        }
        guard rename(partial, file) == 0 else {
            let code = errno
            unlink(partial)
            throw SystemCall.failure("rename", "\(partial), \(file)", code, operation: "state")
        }
        if let previous { unlink(previous.path) }
    }

    /// The newest `state.N` of a pod directory.
    static func latestState(in dir: String) -> (path: String, number: Int)? {
        let numbers = LinuxSystem.entries(of: dir).compactMap { $0.name.hasPrefix("state.") ? Int($0.name.dropFirst(6)) : nil }
        return numbers.max().map { (dir + "/state.\($0)", $0) }
    }

    /// A pod directory's record, or nil (none, or one that cannot be trusted: see
    /// `untrustworthy`).
    public func read(podDirectory dir: String) -> LinuxPodRecord? {
        // The newest file may be unlinked between listing and reading it (a writer has just put
        // a newer one in place, in another process): then the listing is taken again.
        var found: LinuxPodRecord?
        var tried: Int?
        while found == nil, let latest = Self.latestState(in: dir), latest.number != tried {
            tried = latest.number
            found = LinuxPodRecord.parse(LinuxSystem.readFile(latest.path))
        }
        guard let record = found else { return nil }
        let name = dir.split(separator: "/").last.map(String.init) ?? ""
        return untrustworthy(record, directoryName: name) == nil ? record : nil
    }

    /// Why a record must not be acted on, or nil. gc and rm kill what a record's cgroup holds
    /// and delete its directory, as root: a record (damaged, or written by someone else) whose
    /// id is not its directory's name or leaves the pods directory, or whose cgroup is not a
    /// pod's (`PARENT/ID`), would have them kill or delete elsewhere. Such a pod
    /// directory counts as one without a record (gc removes it, inside the pods directory).
    public func untrustworthy(_ record: LinuxPodRecord, directoryName: String) -> String? {
        func isPlainName(_ text: String) -> Bool {
            !text.isEmpty && !text.hasPrefix(".") && !text.contains("/") && !text.utf8.contains(0)
        }
        guard isPlainName(record.id), record.id == directoryName else {
            return "its id \"\(record.id)\" is not its directory's name \"\(directoryName)\""
        }
        // Names reach terminals (ps, rm, stop, gc): one a runtime made is a DNS-1123 name, so
        // control characters (an ANSI escape that rewrites the screen) mean a forged record.
        func hasControl(_ text: String) -> Bool {
            text.unicodeScalars.contains { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) }
        }
        if hasControl(record.name) || record.containers.contains(where: { hasControl($0.name) }) {
            return "its name \(String(reflecting: record.name)) or a container's holds control characters"
        }
        if !record.cgroup.isEmpty {
            // PARENT/ID, whichever --cgroup-parent made it: relative, no `.` or `..`, named by the id.
            let parts = record.cgroup.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 2, parts.allSatisfy(isPlainName), parts.last == record.id else {
                return "its cgroup \"\(record.cgroup)\" is not a pod cgroup named by its id"
            }
        }
        return nil
    }

    /// Every pod of the state directory, by name then id.
    public func list() -> [LinuxPodRecord] {
        let names = LinuxSystem.entries(of: podsDirectory).map(\.name).filter { !$0.hasPrefix(".") }
        return names.compactMap { read(podDirectory: podsDirectory + "/" + $0) }
            .sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    /// The pods named `name` (a name, or an id).
    public func find(_ name: String) -> [LinuxPodRecord] {
        list().filter { $0.name == name || $0.id == name }
    }

    /// The processes a record names that still run: the same boot, the same start time, and
    /// in the pod's cgroup (a pid the record names that now belongs to another process, even
    /// one started at the same tick, is never acted on).
    public func liveProcesses(_ record: LinuxPodRecord) -> [ProcessStamp] {
        guard record.bootID == Self.bootID else { return [] }
        return record.processes.filter { Self.isPods($0, record) }
    }

    /// Whether `process` is still the one `record` names: alive with its start time, and in the
    /// pod's cgroup.
    static func isPods(_ process: ProcessStamp, _ record: LinuxPodRecord) -> Bool {
        process.isAlive && (record.cgroup.isEmpty || isIn(cgroup: record.cgroup, pid: process.pid))
    }

    /// Whether `pid` is in `cgroup` (a path below the hierarchies' root) or below it, in some
    /// hierarchy, by /proc/PID/cgroup.
    static func isIn(cgroup: String, pid: Int32) -> Bool {
        let root = "/" + cgroup
        return LinuxSystem.readFile("/proc/\(pid)/cgroup").split(separator: "\n").contains { line in
            guard let path = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).last else { return false }
            return path == root || path.hasPrefix(root + "/")
        }
    }

    /// The cgroups below a pod's cgroup (deepest first), and the pod's own last.
    func cgroupTree(_ path: String) -> [String] {
        var out: [String] = []
        for child in cgroups.children(path) { out += cgroupTree(path + "/" + child) }
        return out + [path]
    }

    /// Mount points at or below `dir` in this mount namespace, deepest first.
    public static func mounts(below dir: String) -> [String] {
        LinuxSystem.readFile("/proc/self/mountinfo").split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            let point = LinuxPodRecord.unescapeOctal(fields[4])
            return point == dir || point.hasPrefix(dir + "/") ? point : nil
        }.sorted { $0.count > $1.count }
    }

    /// Stops a pod's containers: SIGTERM, then SIGKILL to what is left after `grace` seconds.
    /// The pause and the forwarder stay (the pod is stopped, not removed).
    public func stop(_ record: LinuxPodRecord, grace: Double) {
        let containers = record.containers.compactMap(\.process).filter { Self.isPods($0, record) }
        for p in containers { kill(p.pid, SIGTERM) }
        let deadline = LinuxSystem.monotonic() + max(0, grace)
        while containers.contains(where: \.isAlive) && LinuxSystem.monotonic() < deadline { usleep(10_000) }
        for p in containers where p.isAlive { kill(p.pid, SIGKILL) }
        let end = LinuxSystem.monotonic() + 5
        while containers.contains(where: \.isAlive) && LinuxSystem.monotonic() < end { usleep(5_000) }
        var stopped = record
        for i in stopped.containers.indices { stopped.containers[i].exited = true }
        try? write(stopped)
    }

    /// Removes a pod whoever owns it: kills everything in its cgroups and every recorded process
    /// still alive, unmounts what is mounted below its directory, removes its cgroups and the
    /// directory. Returns what could not be removed (empty when nothing is left).
    @discardableResult
    public func remove(_ record: LinuxPodRecord) -> [String] {
        StateLock.locked { removeLocked(record) }
    }

    private func removeLocked(_ record: LinuxPodRecord) -> [String] {
        var left: [String] = []
        for p in liveProcesses(record) { kill(p.pid, SIGKILL) }
        if !record.cgroup.isEmpty {
            for path in cgroupTree(record.cgroup) where !cgroups.remove(path) { left.append("cgroup \(path)") }
        }
        let dir = podsDirectory + "/" + record.id
        for point in Self.mounts(below: dir) where umount2(point, Int32(MNT_DETACH)) != 0 { left.append("mount \(point)") }
        let end = LinuxSystem.monotonic() + 5
        while !liveProcesses(record).isEmpty && LinuxSystem.monotonic() < end { usleep(5_000) }
        left += liveProcesses(record).map { "process \($0.pid)" }
        if !removePodDirectory(dir) { left.append("directory \(dir)") }
        return left
    }

    /// Removes a pod directory: first renamed out of the way (`.gone-ID-PID`) in one step, so
    /// that a crash halfway through the deletion never leaves a pod directory without its record
    /// (gc removes what is left of a `.gone-` directory whose remover died).
    @discardableResult
    public func removePodDirectory(_ dir: String) -> Bool {
        StateLock.locked { removePodDirectoryLocked(dir) }
    }

    private func removePodDirectoryLocked(_ dir: String) -> Bool {
        guard access(dir, F_OK) == 0 else { return true }
        let name = dir.split(separator: "/").last.map(String.init) ?? "pod"
        let gone = podsDirectory + "/.gone-\(name)-\(getpid())"
        let target = rename(dir, gone) == 0 ? gone : dir
        return LinuxSystem.removeTree(target)
    }

    /// What `gc` did.
    public struct Collected: Sendable, Equatable {
        public var pods: [String] = []
        public var cgroups: [String] = []
        public var directories: [String] = []
        public var failures: [String] = []
    }

    /// Removes what owners that died left behind: their pods (detached ones only once their pause
    /// has died too), pod directories without a record (older than a minute: one may be in the
    /// making), and cgroups below the parent that no pod directory claims.
    public func collect() -> Collected {
        var done = Collected()
        var known = Set<String>()
        var listed = Set<String>()
        for record in list() {
            listed.insert(record.id)
            known.insert(record.id)
            let abandoned = record.detached ? !record.infraAlive : !record.ownerAlive
            guard abandoned else { continue }
            let failures = remove(record)
            done.pods.append("\(record.name) (\(record.id))")
            done.failures += failures
            known.remove(record.id)
        }
        // A directory without a record: its owner died between mkdir and the first write (or
        // is in that instant now: only those older than a minute go).
        do {
            let all = LinuxSystem.entries(of: podsDirectory).map(\.name)
            let names = all.filter { !$0.hasPrefix(".") }
            let dotNames = all.filter { $0.hasPrefix(".") }
            // A pod directory in the making (`.new-ID-PID`) whose maker died, or one being
            // deleted (`.gone-ID-PID`) whose remover died.
            for name in dotNames where name.hasPrefix(".new-") || name.hasPrefix(".gone-") {
                guard let pid = Int32(name.split(separator: "-").last ?? ""), kill(pid, 0) != 0 else { continue }
                let path = podsDirectory + "/" + name
                if LinuxSystem.removeTree(path) { done.directories.append(path) } else { done.failures.append("directory \(path)") }
            }
            for name in names where !listed.contains(name) {
                let path = podsDirectory + "/" + name
                var info = stat()
                guard lstat(path, &info) == 0, Double(time(nil)) - Double(info.st_mtim.tv_sec) > 60 else {
                    known.insert(name)
                    continue
                }
                for point in Self.mounts(below: path) { umount2(point, Int32(MNT_DETACH)) }
                if LinuxSystem.removeTree(path) { done.directories.append(path) } else { done.failures.append("directory \(path)") }
            }
        }
        for child in cgroups.children(cgroupParent) where !known.contains(child) {
            let path = cgroupParent + "/" + child
            var allGone = true
            for sub in cgroupTree(path) where !cgroups.remove(sub) {
                allGone = false
                done.failures.append("cgroup \(sub)")
            }
            if allGone { done.cgroups.append(path) }
        }
        return done
    }
}

extension LinuxPodRecord {
    /// mountinfo escapes spaces and the like as \040.
    static func unescapeOctal(_ text: Substring) -> String {
        decode(text, marker: "\\", digits: 3, radix: 8)
    }
}
