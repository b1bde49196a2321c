import Foundation
import PodTestSupport
import Testing

@testable import PodKit
@testable import PodLinux

/// The hostile-input suite, state-directory part: records damaged or written by someone else.
/// gc and rm run as root and kill what a record names: no record may make them kill or delete
/// anything outside its pod — not a live process it names with the wrong start time, not a
/// cgroup that is not its pod's, not a directory outside the pods directory.
@Suite("Hostile suite: state-directory contents", .serialized)
struct HostileStateTests {
    /// A state directory and cgroup parent of their own, with a victim outside both: a process
    /// in a cgroup of its own, and a directory beside the state directory.
    final class Scene {
        let root = Scratch.directory("hostile-state")
        var state: String { root + "/state" }
        var victimDirectory: String { root + "/victim" }
        let parent = "swift-pods-hostile-\(getpid())"
        var victimCgroup: String { "swift-pods-victim-\(getpid())" }
        let driver: any CgroupDriver
        let victim = Process()

        init() throws {
            guard geteuid() == 0 else {
                print("skip: hostile state directories need root (cgroups)")
                try Test.cancel("needs root")
            }
            guard case .success(let driver) = CgroupDrivers.detect() else { try Test.cancel("no cgroup driver") }
            self.driver = driver
            try FileManager.default.createDirectory(atPath: state + "/pods", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: victimDirectory, withIntermediateDirectories: true)
            try "keep me".write(toFile: victimDirectory + "/file", atomically: true, encoding: .utf8)
            try driver.create(victimCgroup, values: CgroupValues(cpuShares: 1024), pidsMax: nil)
            victim.executableURL = URL(fileURLWithPath: "/bin/sleep")
            victim.arguments = ["3600"]
            try victim.run()
            for file in driver.procsFiles(victimCgroup) {
                try "\(victim.processIdentifier)\n".write(toFile: file, atomically: false, encoding: .utf8)
            }
        }

        var linuxState: LinuxState { LinuxState(directory: state, cgroups: driver, cgroupParent: parent) }

        /// Writes `text` as the record of pod directory `name`, made two minutes ago (so gc
        /// takes a directory it does not trust as one whose maker died).
        func plant(_ name: String, _ text: String) throws {
            let dir = state + "/pods/" + name
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try text.write(toFile: dir + "/state.1", atomically: false, encoding: .utf8)
            var times = [timespec(tv_sec: time(nil) - 120, tv_nsec: 0), timespec(tv_sec: time(nil) - 120, tv_nsec: 0)]
            utimensat(AT_FDCWD, dir, &times, 0)
        }

        /// Nothing outside the scene's pods was touched.
        func victimsStand(_ label: String) {
            #expect(kill(victim.processIdentifier, 0) == 0 && victim.isRunning, "\(label): the victim process was killed")
            #expect(FileManager.default.fileExists(atPath: victimDirectory + "/file"), "\(label): the victim directory went")
            #expect(driver.processes(victimCgroup).contains(victim.processIdentifier), "\(label): the victim cgroup was emptied")
        }

        func end() {
            kill(victim.processIdentifier, SIGKILL)  // the test runner's threads block SIGTERM, and so does the child
            victim.waitUntilExit()
            _ = driver.remove(victimCgroup)
            for child in driver.children(parent) { _ = driver.remove(parent + "/" + child) }
            _ = driver.remove(parent)
            Scratch.remove(root)
        }
    }

    static func record(id: String, owner: String = "1 1", cgroup: String? = nil, extra: String = "", scene: Scene) -> String {
        let boot = LinuxState.bootID
        return """
            swift-pods-state 1
            name web
            id \(id)
            uid u
            hostname web
            boot \(boot)
            owner \(owner)
            detached 0
            cgroup \(cgroup ?? scene.parent + "/" + id) v
            infra - -
            forwarder - -
            \(extra)
            """
    }

    /// (label, directory name, record text from the scene).
    static func cases(_ scene: Scene) -> [(String, String, String)] {
        let victimPid = scene.victim.processIdentifier
        let start = ProcessStamp.of(victimPid)?.start ?? 0
        return [
            ("id leaves the pods directory", "pod-a", record(id: "../../victim", scene: scene)),
            ("id is another directory's", "pod-b", record(id: "pod-other", scene: scene)),
            ("id is dot-dot", "pod-c", record(id: "..", scene: scene)),
            ("cgroup is the victim's", "pod-d", record(id: "pod-d", cgroup: scene.victimCgroup, scene: scene)),
            ("cgroup climbs out", "pod-e", record(id: "pod-e", cgroup: "\(scene.parent)/../\(scene.victimCgroup)", scene: scene)),
            ("cgroup is the root", "pod-f", record(id: "pod-f", cgroup: "/", scene: scene)),
            ("cgroup is absolute", "pod-g", record(id: "pod-g", cgroup: "/\(scene.victimCgroup)/pod-g", scene: scene)),
            ("infra is the victim with a wrong start time", "pod-h",
                record(id: "pod-h", scene: scene).replacingOccurrences(of: "infra - -", with: "infra \(victimPid) \(start + 1)")),
            ("a container is the victim with a wrong start time", "pod-i",
                record(id: "pod-i", extra: "container c 0 \(victimPid) \(start + 7) \(scene.parent)/pod-i/c-0 0", scene: scene)),
            // The victim's own pid and start time: right, but it is not in the pod's cgroup.
            ("infra is the victim with its real start time", "pod-w",
                record(id: "pod-w", scene: scene).replacingOccurrences(of: "infra - -", with: "infra \(victimPid) \(start)")),
            ("a container is the victim with its real start time", "pod-x",
                record(id: "pod-x", extra: "container c 0 \(victimPid) \(start) \(scene.parent)/pod-x/c-0 0", scene: scene)),
            ("infra is every process (-1)", "pod-j", record(id: "pod-j", scene: scene).replacingOccurrences(of: "infra - -", with: "infra -1 0")),
            ("infra is a process group (0)", "pod-k", record(id: "pod-k", scene: scene).replacingOccurrences(of: "infra - -", with: "infra 0 0")),
            ("owner pid overflows", "pod-l", record(id: "pod-l", owner: "99999999999999999999 1", scene: scene)),
            ("no header", "pod-m", "name web\nid pod-m\n"),
            ("another version", "pod-n", record(id: "pod-n", scene: scene).replacingOccurrences(of: "swift-pods-state 1", with: "swift-pods-state 9")),
            ("garbage", "pod-o", String(repeating: "\u{1}\u{FFFD} ;rm -rf /\n", count: 1000)),
            ("empty", "pod-p", ""),
            ("NUL bytes", "pod-q", "swift-pods-state 1\nid pod-q\u{0}/../../victim\n"),
            ("a huge record", "pod-r", record(id: "pod-r", scene: scene) + String(repeating: "mount /\n", count: 200_000)),
            ("mount lines naming the host", "pod-s", record(id: "pod-s", extra: "mount /\nmount /proc\nmount \(scene.victimDirectory)", scene: scene)),
            ("escapes that decode to a path", "pod-t", record(id: "%2e%2e%2f%2e%2e%2fvictim", scene: scene)),
            ("an ANSI escape in its name", "pod-u",
                record(id: "pod-u", scene: scene).replacingOccurrences(of: "name web", with: "name %1B[2J%1B]0;owned%07web")),
            ("an ANSI escape in a container's name", "pod-v",
                record(id: "pod-v", extra: "container c%1B[31m 0 - - \(scene.parent)/pod-v/c-0 0", scene: scene)),
        ]
    }

    @Test("no record makes gc kill or delete outside its pod; what it cannot trust it removes inside")
    func gcStaysInside() throws {
        let scene = try Scene()
        defer { scene.end() }
        let cases = Self.cases(scene)
        for (_, name, text) in cases { try scene.plant(name, text) }
        let state = scene.linuxState
        let listed = finishes(within: 120) { _ = state.list() }
        #expect(listed, "list() hung")
        // Records whose id and cgroup are a pod's own are listed (their processes are checked
        // by start time and cgroup membership before any kill); the others are not.
        let trusted = state.list().map(\.id)
        #expect(trusted == ["pod-h", "pod-i", "pod-j", "pod-k", "pod-l", "pod-r", "pod-s", "pod-w", "pod-x"], "\(trusted)")
        let collected = result(within: 120) { state.collect() }
        #expect(collected != nil, "collect() hung")
        for (label, _, _) in cases { scene.victimsStand(label) }
        let left = (try? FileManager.default.contentsOfDirectory(atPath: scene.state + "/pods")) ?? []
        #expect(left.isEmpty, "the untrusted pod directories went (inside the pods directory): \(left), \(String(describing: collected))")
    }

    @Test("each untrusted record says why")
    func reasons() throws {
        let scene = try Scene()
        defer { scene.end() }
        let state = scene.linuxState
        let escaping = LinuxPodRecord.parse(Self.record(id: "../../victim", scene: scene))
        #expect(escaping.flatMap { state.untrustworthy($0, directoryName: "pod-a") }?.contains("is not its directory's name") == true)
        let foreign = LinuxPodRecord.parse(Self.record(id: "pod-d", cgroup: scene.victimCgroup, scene: scene))
        #expect(foreign.flatMap { state.untrustworthy($0, directoryName: "pod-d") }?.contains("is not a pod cgroup named by its id") == true)
        let good = LinuxPodRecord.parse(Self.record(id: "pod-z", scene: scene))
        #expect(good.map { state.untrustworthy($0, directoryName: "pod-z") } == .some(nil))
        let otherParent = LinuxPodRecord.parse(Self.record(id: "pod-y", cgroup: "another-parent/pod-y", scene: scene))
        #expect(otherParent.map { state.untrustworthy($0, directoryName: "pod-y") } == .some(nil), "made with another --cgroup-parent")
        let escaped = LinuxPodRecord.parse(Self.record(id: "pod-x", scene: scene).replacingOccurrences(of: "name web", with: "name %1B[2Jweb"))
        #expect(escaped.flatMap { state.untrustworthy($0, directoryName: "pod-x") }?.contains("holds control characters") == true)
    }

    @Test("a state or image directory another user owns or others may write is refused")
    func untrustedDirectories() throws {
        let root = Scratch.directory("untrusted-dirs")
        defer { Scratch.remove(root) }
        let open = root + "/open", foreign = root + "/foreign", mine = root + "/mine"
        for dir in [open, foreign, mine] { mkdir(dir, 0o700) }
        chmod(open, 0o777)
        #expect(LinuxState.untrustedDirectory(mine, what: "state directory") == nil)
        #expect(LinuxState.untrustedDirectory(root + "/not-yet", what: "state directory") == nil, "made later, by us")
        #expect(
            LinuxState.untrustedDirectory(open, what: "state directory")
                == "the state directory \(open) may be written by its group or others (mode 0777): refused (chmod go-w \(open))")
        if geteuid() == 0 {
            chown(foreign, 65534, 65534)
            #expect(LinuxState.untrustedDirectory(foreign, what: "image directory")?.contains("is owned by uid 65534") == true)
        } else {
            print("skip: a directory owned by another user: needs root to chown")
        }
        // The backend and the store refuse them before reading anything there.
        if LinuxBackend.unavailableReason() == nil {
            #expect(throws: BackendError.self) { try LinuxBackend(options: LinuxBackendOptions(stateDir: open, imageDir: mine + "/images")) }
            #expect(throws: BackendError.self) { try ImageStore(directory: open).prune() }
        } else {
            print("skip: the backend's refusal: \(LinuxBackend.unavailableReason() ?? "")")
        }
    }
}
