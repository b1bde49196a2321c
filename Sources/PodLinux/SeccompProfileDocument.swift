import PodKit

/// A seccomp profile in the OCI/Docker JSON format (what `docker run --security-opt seccomp=`,
/// Podman and kubelet's Localhost profiles read): a default action, architectures and rules,
/// each rule for some syscall names, with argument conditions and the capabilities, architectures
/// and kernel it applies to. `runtimeDefault` is the built-in profile, equivalent to moby's
/// `default.json`.
struct SeccompProfileDocument: Sendable, Equatable {
    /// An action: libseccomp's `SCMP_ACT_*` names.
    enum Action: Sendable, Equatable, Hashable {
        case allow
        case errno(UInt16)
        case killThread
        case killProcess
        case trap
        case trace(UInt16)
        case log

        /// The kernel's SECCOMP_RET_* value with its data (libseccomp's SCMP_ACT_* values).
        var value: UInt32 {
            switch self {
            case .allow: return 0x7fff_0000
            case .errno(let code): return 0x0005_0000 | UInt32(code)
            case .killThread: return 0
            case .killProcess: return 0x8000_0000
            case .trap: return 0x0003_0000
            case .trace(let code): return 0x7ff0_0000 | UInt32(code)
            case .log: return 0x7ffc_0000
            }
        }

        /// `name` (`SCMP_ACT_ERRNO`) with `errnoRet` where it takes one (EPERM by default for
        /// ERRNO, as runc), or nil when it is not an action this runtime can carry out
        /// (`SCMP_ACT_NOTIFY` needs a listener).
        init?(name: String, errnoRet: UInt16?) {
            switch name {
            case "SCMP_ACT_ALLOW": self = .allow
            case "SCMP_ACT_ERRNO": self = .errno(errnoRet ?? 1)
            case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": self = .killThread
            case "SCMP_ACT_KILL_PROCESS": self = .killProcess
            case "SCMP_ACT_TRAP": self = .trap
            case "SCMP_ACT_TRACE": self = .trace(errnoRet ?? 1)
            case "SCMP_ACT_LOG": self = .log
            default: return nil
            }
        }
    }

    /// An argument condition: libseccomp's comparison ops.
    struct Condition: Sendable, Equatable, Hashable {
        enum Op: Int32, Sendable, Equatable, Hashable {
            case notEqual = 1, lessThan, lessOrEqual, equal, greaterOrEqual, greaterThan, maskedEqual
        }
        var index: UInt32
        var value: UInt64
        var valueTwo: UInt64 = 0
        var op: Op

        static let opNames: [String: Op] = [
            "SCMP_CMP_NE": .notEqual, "SCMP_CMP_LT": .lessThan, "SCMP_CMP_LE": .lessOrEqual, "SCMP_CMP_EQ": .equal,
            "SCMP_CMP_GE": .greaterOrEqual, "SCMP_CMP_GT": .greaterThan, "SCMP_CMP_MASKED_EQ": .maskedEqual,
        ]

        /// Whether an argument of value `argument` meets the condition.
        func holds(_ argument: UInt64) -> Bool {
            switch op {
            case .notEqual: return argument != value
            case .lessThan: return argument < value
            case .lessOrEqual: return argument <= value
            case .equal: return argument == value
            case .greaterOrEqual: return argument >= value
            case .greaterThan: return argument > value
            case .maskedEqual: return argument & value == valueTwo
            }
        }
    }

    struct Rule: Sendable, Equatable {
        var names: [String]
        var action: Action
        var conditions: [Condition] = []
        /// Capabilities (names without `CAP_`) that must all be held, or any of which excludes it.
        var includeCapabilities: [String] = []
        var excludeCapabilities: [String] = []
        /// Go architecture names (`amd64`, `arm64`, ...).
        var includeArches: [String] = []
        var excludeArches: [String] = []
        /// `major.minor`: the kernel must be at least this.
        var minKernel: (Int, Int)?

        static func == (a: Rule, b: Rule) -> Bool {
            a.names == b.names && a.action == b.action && a.conditions == b.conditions
                && a.includeCapabilities == b.includeCapabilities && a.excludeCapabilities == b.excludeCapabilities
                && a.includeArches == b.includeArches && a.excludeArches == b.excludeArches
                && a.minKernel?.0 == b.minKernel?.0 && a.minKernel?.1 == b.minKernel?.1
        }

        /// Whether the rule is in a filter for a process holding `capabilities`, on `arch` (Go
        /// name) and `kernel` — moby's rules for includes and excludes.
        func applies(capabilities: Set<String>, arch: String, kernel: (Int, Int)) -> Bool {
            if !includeCapabilities.allSatisfy(capabilities.contains) { return false }
            if excludeCapabilities.contains(where: capabilities.contains) { return false }
            if !includeArches.isEmpty && !includeArches.contains(arch) { return false }
            if excludeArches.contains(arch) { return false }
            if let (major, minor) = minKernel, kernel < (major, minor) { return false }
            return true
        }
    }

    var defaultAction: Action
    /// Libseccomp's architecture names (`SCMP_ARCH_X86_64`); the native one is always in.
    var architectures: [String]
    var rules: [Rule]

    /// Every syscall name the profile names.
    var names: [String] {
        var seen: Set<String> = []
        return rules.flatMap(\.names).filter { seen.insert($0).inserted }
    }

    /// The AUDIT_ARCH_* value of a libseccomp architecture name.
    static let auditArches: [String: UInt32] = [
        "SCMP_ARCH_X86": 0x4000_0003, "SCMP_ARCH_X86_64": 0xc000_003e, "SCMP_ARCH_X32": 0x4000_003e,
        "SCMP_ARCH_ARM": 0x4000_0028, "SCMP_ARCH_AARCH64": 0xc000_00b7,
    ]

    /// This machine's architecture as Go names it (what `includes.arches` lists).
    static var goArch: String {
        #if arch(x86_64)
        return "amd64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }
}

extension SeccompProfileDocument {
    /// Parses a profile file, naming the entry at fault.
    init(json text: String, source: String) throws(BackendError) {
        func fail(_ message: String) -> BackendError {
            BackendError(.unsupported, "seccomp profile \(source)", message)
        }
        let node: SpecNode
        do {
            node = try JSONReader.parse(text)
        } catch {
            throw fail(error.description)
        }
        guard case .map = node.value else { throw fail("not a JSON object") }
        func errnoRet(_ node: SpecNode?, _ path: String) throws(BackendError) -> UInt16? {
            guard let node else { return nil }
            guard let value = node.integerValue, let code = UInt16(exactly: value) else { throw fail("\(path): not an errno number") }
            return code
        }
        guard let defaultName = node["defaultAction"]?.stringValue else { throw fail("defaultAction: required") }
        guard let defaultAction = Action(name: defaultName, errnoRet: try errnoRet(node["defaultErrnoRet"], "defaultErrnoRet")) else {
            throw fail("defaultAction: unsupported action \(FieldError.quoted(defaultName))")
        }
        var architectures: [String] = []
        for (i, arch) in (node["architectures"]?.arrayValue ?? []).enumerated() {
            guard let name = arch.stringValue, Self.auditArches[name] != nil else { throw fail("architectures[\(i)]: unsupported") }
            architectures.append(name)
        }
        for (i, entry) in (node["archMap"]?.arrayValue ?? []).enumerated() {
            let names = [entry["architecture"]] + (entry["subArchitectures"]?.arrayValue ?? []).map { Optional($0) }
            for name in names {
                guard let text = name?.stringValue, Self.auditArches[text] != nil else { throw fail("archMap[\(i)]: unsupported architecture") }
                // Only the native architecture's own entry, with its sub-architectures, counts.
                if entry["architecture"]?.stringValue == Self.nativeArchName { architectures.append(text) }
            }
        }
        var rules: [Rule] = []
        for (i, entry) in (node["syscalls"]?.arrayValue ?? []).enumerated() {
            let path = "syscalls[\(i)]"
            var names = (entry["names"]?.arrayValue ?? []).compactMap(\.stringValue)
            if let single = entry["name"]?.stringValue { names.append(single) }
            guard !names.isEmpty else { throw fail("\(path).names: required") }
            guard let actionName = entry["action"]?.stringValue else { throw fail("\(path).action: required") }
            guard let action = Action(name: actionName, errnoRet: try errnoRet(entry["errnoRet"], "\(path).errnoRet")) else {
                throw fail("\(path).action: unsupported action \(FieldError.quoted(actionName))")
            }
            var rule = Rule(names: names, action: action)
            for (j, arg) in (entry["args"]?.arrayValue ?? []).enumerated() {
                func number(_ key: String) -> UInt64? {
                    guard case .number(let text)? = arg[key]?.value else { return nil }
                    return UInt64(text) ?? Int64(text).map { UInt64(bitPattern: $0) }
                }
                guard let index = number("index"), index < 6 else { throw fail("\(path).args[\(j)].index: 0 to 5") }
                guard let op = arg["op"]?.stringValue.flatMap({ Condition.opNames[$0] }) else {
                    throw fail("\(path).args[\(j)].op: unsupported")
                }
                rule.conditions.append(Condition(index: UInt32(index), value: number("value") ?? 0, valueTwo: number("valueTwo") ?? 0, op: op))
            }
            func capabilities(_ node: SpecNode?) -> [String] {
                (node?["caps"]?.arrayValue ?? []).compactMap(\.stringValue).map { LinuxCapability.canonical($0) ?? $0 }
            }
            rule.includeCapabilities = capabilities(entry["includes"])
            rule.excludeCapabilities = capabilities(entry["excludes"])
            rule.includeArches = (entry["includes"]?["arches"]?.arrayValue ?? []).compactMap(\.stringValue)
            rule.excludeArches = (entry["excludes"]?["arches"]?.arrayValue ?? []).compactMap(\.stringValue)
            if let text = entry["includes"]?["minKernel"]?.stringValue {
                let parts = text.split(separator: ".").compactMap { Int($0) }
                guard parts.count >= 2 else { throw fail("\(path).includes.minKernel: not a kernel version") }
                rule.minKernel = (parts[0], parts[1])
            }
            rules.append(rule)
        }
        self.init(defaultAction: defaultAction, architectures: architectures, rules: rules)
    }

    static var nativeArchName: String {
        #if arch(x86_64)
        return "SCMP_ARCH_X86_64"
        #else
        return "SCMP_ARCH_AARCH64"
        #endif
    }
}
