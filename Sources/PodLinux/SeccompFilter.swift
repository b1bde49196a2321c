import CPodSpawn
import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// A compiled seccomp filter: the classic BPF program libseccomp makes of a profile for a
/// process holding some capabilities, which the container's process loads before exec.
struct SeccompFilter: Sendable, Equatable {
    /// `struct sock_filter` instructions, 8 bytes each.
    let program: [UInt8]

    var instructionCount: Int { program.count / 8 }

    /// A program made elsewhere (the tests' own layouts).
    init(program: [UInt8]) { self.program = program }

    /// The profile's rules that apply to `capabilities` here, compiled.
    init(_ profile: SeccompProfileDocument, capabilities: Set<String>) throws(BackendError) {
        let kernel = Self.kernelVersion
        let rules = profile.rules.filter { $0.applies(capabilities: capabilities, arch: SeccompProfileDocument.goArch, kernel: kernel) }
        var arches = profile.architectures.compactMap { SeccompProfileDocument.auditArches[$0] }
        if arches.isEmpty, let native = SeccompProfileDocument.auditArches[SeccompProfileDocument.nativeArchName] { arches = [native] }
        if let ranges = SeccompRanges.compile(profile, rules: rules, arches: arches) {
            program = ranges
            return
        }
        // One C rule per name and condition set; the strings and argument arrays live until the
        // compile returns.
        var names: [String] = []
        var conditions: [[podspawn_seccomp_arg]] = []
        var actions: [UInt32] = []
        for rule in rules {
            let args = rule.conditions.map {
                podspawn_seccomp_arg(index: $0.index, op: $0.op.rawValue, value: $0.value, value_two: $0.valueTwo)
            }
            for name in rule.names {
                names.append(name)
                conditions.append(args)
                actions.append(rule.action.value)
            }
        }
        let cNames = CStringArray(names)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var error = [CChar](repeating: 0, count: 512)
        let size: Int = withExtendedLifetime(cNames) {
            Self.withArgs(conditions) { argPointers in
                let cRules = names.indices.map { i in
                    podspawn_seccomp_rule(
                        name: cNames.pointers[i], action: actions[i], args: argPointers[i], arg_count: Int32(conditions[i].count))
                }
                return buffer.withUnsafeMutableBufferPointer { out in
                    Int(
                        podspawn_seccomp_compile(
                            profile.defaultAction.value, arches, Int32(arches.count), cRules, Int32(cRules.count), out.baseAddress,
                            UInt(out.count), &error, UInt(error.count)))
                }
            }
        }
        guard size > 0 else {
            throw BackendError(.unsupported, "seccomp", String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        program = Array(buffer.prefix(size))
    }

    /// Calls `body` with a pointer to each argument array (kept alive meanwhile).
    private static func withArgs<R>(
        _ lists: [[podspawn_seccomp_arg]], _ body: ([UnsafePointer<podspawn_seccomp_arg>?]) -> R
    ) -> R {
        // Most rules have no conditions: one flat copy holds them all.
        let flat = lists.flatMap { $0 }
        return flat.withUnsafeBufferPointer { storage in
            var offset = 0
            var out: [UnsafePointer<podspawn_seccomp_arg>?] = []
            out.reserveCapacity(lists.count)
            for list in lists {
                out.append(list.isEmpty ? nil : storage.baseAddress.map { $0 + offset })
                offset += list.count
            }
            return body(out)
        }
    }

    /// The running kernel's major and minor version.
    static let kernelVersion: (Int, Int) = {
        var info = utsname()
        uname(&info)
        let release = withUnsafeBytes(of: info.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        return (parts.first ?? 0, parts.dropFirst().first ?? 0)
    }()

    /// The native number of a syscall name, nil when this architecture has none.
    static func syscallNumber(_ name: String) -> Int32? {
        let nr = podspawn_seccomp_syscall(name)
        return nr < 0 ? nil : nr
    }

    /// What the filter answers for a call — classic BPF run over `struct seccomp_data`
    /// (nr, arch, instruction pointer, six arguments), as the kernel runs it.
    func evaluate(nr: Int32, arch: UInt32, args: [UInt64] = []) -> UInt32? {
        var data = [UInt8](repeating: 0, count: 64)
        func put32(_ value: UInt32, at offset: Int) {
            for i in 0..<4 { data[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
        }
        put32(UInt32(bitPattern: nr), at: 0)
        put32(arch, at: 4)
        for (i, arg) in args.prefix(6).enumerated() {
            put32(UInt32(truncatingIfNeeded: arg), at: 16 + 8 * i)
            put32(UInt32(truncatingIfNeeded: arg >> 32), at: 20 + 8 * i)
        }
        func load32(_ offset: Int) -> UInt32? {
            guard offset >= 0, offset + 4 <= data.count else { return nil }
            return (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[offset + $1]) << (8 * UInt32($1)) }
        }
        var a: UInt32 = 0
        var x: UInt32 = 0
        var memory = [UInt32](repeating: 0, count: 16)
        var pc = 0
        let count = instructionCount
        while pc < count {
            let base = pc * 8
            let code = UInt16(program[base]) | UInt16(program[base + 1]) << 8
            let jt = Int(program[base + 2]), jf = Int(program[base + 3])
            let k = (0..<4).reduce(UInt32(0)) { $0 | UInt32(program[base + 4 + $1]) << (8 * UInt32($1)) }
            pc += 1
            switch code & 0x07 {
            case 0x00:  // LD
                switch code & 0xe0 {
                case 0x20: guard let v = load32(Int(k)) else { return nil }; a = v  // ABS
                case 0x00: a = k  // IMM
                case 0x60: a = memory[Int(k) & 15]  // MEM
                case 0x80: a = 64  // LEN
                default: return nil
                }
            case 0x01:  // LDX
                switch code & 0xe0 {
                case 0x00: x = k
                case 0x60: x = memory[Int(k) & 15]
                case 0x80: x = 64
                default: return nil
                }
            case 0x02: memory[Int(k) & 15] = a  // ST
            case 0x03: memory[Int(k) & 15] = x  // STX
            case 0x04:  // ALU
                let operand = code & 0x08 != 0 ? x : k
                switch code & 0xf0 {
                case 0x00: a = a &+ operand
                case 0x10: a = a &- operand
                case 0x20: a = a &* operand
                case 0x30: guard operand != 0 else { return nil }; a /= operand
                case 0x40: a |= operand
                case 0x50: a &= operand
                case 0x60: a = operand < 32 ? a << operand : 0
                case 0x70: a = operand < 32 ? a >> operand : 0
                case 0x80: a = 0 &- a
                case 0x90: guard operand != 0 else { return nil }; a %= operand
                case 0xa0: a ^= operand
                default: return nil
                }
            case 0x05:  // JMP
                let operand = code & 0x08 != 0 ? x : k
                switch code & 0xf0 {
                case 0x00: pc += Int(k)  // JA
                case 0x10: pc += a == operand ? jt : jf
                case 0x20: pc += a > operand ? jt : jf
                case 0x30: pc += a >= operand ? jt : jf
                case 0x40: pc += a & operand != 0 ? jt : jf
                default: return nil
                }
            case 0x06: return code & 0x18 == 0x10 ? a : k  // RET (A or K)
            case 0x07:  // MISC
                if code & 0xf8 == 0x00 { x = a } else { a = x }
            default: return nil
            }
        }
        return nil
    }
}

/// Filters compiled once per profile and capability set, for the backend's life.
final class SeccompFilters {
    private var cache: [String: SeccompFilter] = [:]
    private var localhost: [String: (text: String, document: SeccompProfileDocument)] = [:]

    /// The filter for `profile` (nil: Unconfined) held by `capabilities`. A Localhost file is
    /// read (beneath `root`: no `..` or symlink out) at each container start, as containerd
    /// reads it, and compiled again only when it changed.
    func filter(_ profile: SeccompProfile, capabilities: Set<String>, root: String) throws(BackendError) -> SeccompFilter? {
        let document: SeccompProfileDocument
        let key: String
        switch profile.type {
        case .unconfined:
            return nil
        case .runtimeDefault:
            document = .runtimeDefault
            key = "default"
        case .localhost:
            let relative = profile.localhostProfile ?? ""
            let path = root + "/" + relative
            let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            let file = fd < 0 ? -1 : podspawn_open_beneath(fd, relative, O_RDONLY)
            let code = errno
            if fd >= 0 { close(fd) }
            guard file >= 0 else {
                throw BackendError(.unsupported, "seccomp", "cannot load seccomp profile \"\(path)\": \(String(cString: strerror(code)))")
            }
            let text = String(decoding: LinuxSystem.readAll(fd: file), as: UTF8.self)
            close(file)
            if let loaded = localhost[path], loaded.text == text {
                document = loaded.document
            } else {
                document = try SeccompProfileDocument(json: text, source: "\"\(path)\"")
                localhost[path] = (text, document)
                cache = cache.filter { !$0.key.hasPrefix("file:" + path + " ") }
            }
            key = "file:" + path
        }
        let cacheKey = key + " " + capabilities.sorted().joined(separator: ",")
        if let cached = cache[cacheKey] { return cached }
        let compiled = try SeccompFilter(document, capabilities: capabilities)
        cache[cacheKey] = compiled
        return compiled
    }
}
