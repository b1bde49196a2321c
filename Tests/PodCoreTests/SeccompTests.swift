import Foundation
import Testing

@testable import PodKit
@testable import PodLinux

#if canImport(Glibc)
import Glibc
#endif

/// The compiled RuntimeDefault filter holds, for every syscall name of the profile and for each
/// capability set, the action the profile itself gives (run through a BPF interpreter over
/// `seccomp_data`, as the kernel runs it): the table is the profile.
@Suite("Seccomp filters against their profile")
struct SeccompTests {
    static let native: UInt32 = SeccompProfileDocument.auditArches[SeccompProfileDocument.nativeArchName] ?? 0

    /// What the profile says of a call without arguments: the first applicable rule for the name
    /// with no conditions, else the default.
    static func expected(
        _ profile: SeccompProfileDocument, _ name: String, capabilities: Set<String>, args: [UInt64] = []
    ) -> UInt32 {
        for rule in profile.rules where rule.names.contains(name) {
            guard rule.applies(capabilities: capabilities, arch: SeccompProfileDocument.goArch, kernel: SeccompFilter.kernelVersion)
            else { continue }
            let holds = rule.conditions.allSatisfy { $0.holds(args.count > Int($0.index) ? args[Int($0.index)] : 0) }
            if holds { return rule.action.value }
        }
        return profile.defaultAction.value
    }

    static let capabilitySets: [(String, Set<String>)] = [
        ("default", LinuxCapability.defaultSet), ("none", []),
        ("+SYS_ADMIN", LinuxCapability.defaultSet.union(["SYS_ADMIN"])),
        ("+SYS_PTRACE,SYS_TIME,SYS_MODULE", LinuxCapability.defaultSet.union(["SYS_PTRACE", "SYS_TIME", "SYS_MODULE"])),
        ("all", Set(LinuxCapability.names)),
    ]

    @Test("every name of the profile", arguments: capabilitySets.map(\.0))
    func everyNameOfTheProfile(set: String) throws {
        guard SeccompFilter.syscallNumber("getpid") != nil else {
            print("skip: libseccomp.so.2 is not installed (Debian: libseccomp2)")
            return
        }
        let capabilities = Self.capabilitySets.first { $0.0 == set }!.1
        let profile = SeccompProfileDocument.runtimeDefault
        let filter = try SeccompFilter(profile, capabilities: capabilities)
        var checked = 0
        for name in profile.names + ["keyctl", "add_key", "request_key", "io_uring_setup", "kexec_load", "userfaultfd"] {
            guard let nr = SeccompFilter.syscallNumber(name) else { continue }  // not a call of this architecture
            let want = Self.expected(profile, name, capabilities: capabilities)
            #expect(filter.evaluate(nr: nr, arch: Self.native) == want, "\(name) (\(nr)) with \(set)")
            checked += 1
        }
        #expect(checked > 300, "\(checked) names checked")
        // The argument rules: clone's namespace flags, personality's personas, socket's vsock.
        let cases: [(String, [UInt64])] = [
            ("clone", [0x0001_1200]), ("clone", [0x1000_0000]), ("clone", [0x2000_0000 | 0x0001_1200]),
            ("personality", [0]), ("personality", [8]), ("personality", [1]), ("personality", [0xffff_ffff]),
            ("socket", [2]), ("socket", [40]), ("socket", [1]),
        ]
        for (name, args) in cases {
            let nr = try #require(SeccompFilter.syscallNumber(name))
            #expect(
                filter.evaluate(nr: nr, arch: Self.native, args: args) == Self.expected(profile, name, capabilities: capabilities, args: args),
                "\(name)(\(args)) with \(set)")
        }
    }

    @Test func theDefaultsMeaningInPlainWords() throws {
        guard let unshare = SeccompFilter.syscallNumber("unshare"), let keyctl = SeccompFilter.syscallNumber("keyctl"),
            let clone3 = SeccompFilter.syscallNumber("clone3"), let getpid = SeccompFilter.syscallNumber("getpid"),
            let clone = SeccompFilter.syscallNumber("clone")
        else {
            print("skip: libseccomp.so.2 is not installed (Debian: libseccomp2)")
            return
        }
        let allow: UInt32 = 0x7fff_0000, eperm: UInt32 = 0x0005_0001, enosys: UInt32 = 0x0005_0026
        let plain = try SeccompFilter(.runtimeDefault, capabilities: LinuxCapability.defaultSet)
        let admin = try SeccompFilter(.runtimeDefault, capabilities: LinuxCapability.defaultSet.union(["SYS_ADMIN"]))
        #expect(plain.evaluate(nr: getpid, arch: Self.native) == allow)
        #expect(plain.evaluate(nr: unshare, arch: Self.native) == eperm)
        #expect(admin.evaluate(nr: unshare, arch: Self.native) == allow)
        #expect(plain.evaluate(nr: keyctl, arch: Self.native) == eperm && admin.evaluate(nr: keyctl, arch: Self.native) == eperm)
        #expect(plain.evaluate(nr: clone3, arch: Self.native) == enosys, "glibc falls back to clone")
        #expect(plain.evaluate(nr: clone, arch: Self.native, args: [0x1000_0000]) == eperm, "CLONE_NEWUSER")
        #expect(admin.evaluate(nr: clone, arch: Self.native, args: [0x1000_0000]) == allow)
        #if arch(x86_64)
        // i386's getpid (20) and keyctl (288): the 32-bit ABI is filtered by name too.
        #expect(plain.evaluate(nr: 20, arch: 0x4000_0003) == allow)
        #expect(plain.evaluate(nr: 288, arch: 0x4000_0003) == eperm)
        // An architecture the profile does not name is killed, as libseccomp's bad-arch action.
        #expect(plain.evaluate(nr: 20, arch: 0xc000_00b7) == 0)
        #endif
    }

    /// The default profile takes the range layout (short paths: cheap for the kernel to load);
    /// a profile with an ordering comparison goes to libseccomp, and both answer as their
    /// profile says.
    @Test func bothLayoutsAnswerAsTheirProfile() throws {
        guard let mkdir = SeccompFilter.syscallNumber("mkdir"), let getpid = SeccompFilter.syscallNumber("getpid") else {
            print("skip: libseccomp.so.2 is not installed (Debian: libseccomp2)")
            return
        }
        let ranges = try SeccompFilter(.runtimeDefault, capabilities: LinuxCapability.defaultSet)
        #expect(ranges.instructionCount < 600, "\(ranges.instructionCount) instructions")
        var ordered = SeccompProfileDocument(defaultAction: .allow, architectures: [SeccompProfileDocument.nativeArchName], rules: [])
        ordered.rules = [
            .init(names: ["mkdir"], action: .errno(13), conditions: [.init(index: 1, value: 0o700, op: .greaterThan)]),
            .init(names: ["getpid"], action: .errno(1)),
        ]
        #expect(SeccompRanges.compile(ordered, rules: ordered.rules, arches: [Self.native]) == nil, "an ordering comparison: libseccomp")
        let compiled = try SeccompFilter(ordered, capabilities: [])
        #expect(compiled.evaluate(nr: mkdir, arch: Self.native, args: [0, 0o755]) == 0x0005_000d)
        #expect(compiled.evaluate(nr: mkdir, arch: Self.native, args: [0, 0o600]) == 0x7fff_0000)
        #expect(compiled.evaluate(nr: getpid, arch: Self.native) == 0x0005_0001)
        // The same profile with an equality instead: the range layout, same answers.
        ordered.rules[0].conditions = [.init(index: 1, value: 0o755, op: .equal)]
        let laid = try #require(SeccompRanges.compile(ordered, rules: ordered.rules, arches: [Self.native]))
        let viaRanges = SeccompFilter(program: laid)
        #expect(viaRanges.evaluate(nr: mkdir, arch: Self.native, args: [0, 0o755]) == 0x0005_000d)
        #expect(viaRanges.evaluate(nr: mkdir, arch: Self.native, args: [0x1_0000_0000 | 0o755, 0o755]) == 0x0005_000d)
        #expect(viaRanges.evaluate(nr: mkdir, arch: Self.native, args: [0, 0x1_0000_01ed]) == 0x7fff_0000, "the high word counts")
        #expect(viaRanges.evaluate(nr: getpid, arch: Self.native) == 0x0005_0001)
    }

    @Test func aLocalhostProfileIsReadInTheOCIFormatAndItsErrorsNameTheEntry() throws {
        let text = """
            {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
             "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                          {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 2048, "valueTwo": 2048, "op": "SCMP_CMP_MASKED_EQ"}],
                           "includes": {"caps": ["CAP_FOWNER"]}, "excludes": {"arches": ["s390x"]}}]}
            """
        let profile = try SeccompProfileDocument(json: text, source: "test")
        #expect(profile.defaultAction == .allow)
        #expect(profile.rules[0] == SeccompProfileDocument.Rule(names: ["mkdir", "mkdirat"], action: .errno(13)))
        #expect(profile.rules[1].conditions == [.init(index: 1, value: 2048, valueTwo: 2048, op: .maskedEqual)])
        #expect(profile.rules[1].includeCapabilities == ["FOWNER"] && profile.rules[1].excludeArches == ["s390x"])
        func error(_ json: String) -> String {
            do {
                _ = try SeccompProfileDocument(json: json, source: "p.json")
                return "accepted"
            } catch {
                return error.message
            }
        }
        #expect(error("{}") == "defaultAction: required")
        #expect(error(#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#) == "defaultAction: unsupported action \"SCMP_ACT_NOTIFY\"")
        #expect(error(#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 9, "op": "SCMP_CMP_EQ"}]}]}"#)
            == "syscalls[0].args[0].index: 0 to 5")
        #expect(error("[1, 2") .hasPrefix("JSON line 1"))
    }
}
