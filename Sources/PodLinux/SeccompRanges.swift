import CPodSpawn

/// A seccomp filter laid out as a binary search over ranges of syscall numbers, for profiles
/// whose argument conditions are equality, inequality or a masked equality on 32-bit values
/// (RuntimeDefault is one): the allowed numbers form a few dozen runs, so the program is a few
/// hundred instructions and every number's path a handful. The kernel runs a filter for every
/// syscall number of each ABI when it is loaded (to prepare its result cache) and JIT-compiles
/// it, so each container's start pays in proportion to those paths: libseccomp's one-rule-per-
/// number tree costs about three times as much. Profiles this cannot express go to libseccomp.
/// The table-driven test holds either against the profile.
enum SeccompRanges {
    /// One instruction of classic BPF (`struct sock_filter`).
    struct Instruction {
        var code: UInt16
        var jt: UInt8 = 0
        var jf: UInt8 = 0
        var k: UInt32 = 0
    }

    static let ldAbs: UInt16 = 0x20, jeq: UInt16 = 0x15, jge: UInt16 = 0x35, ja: UInt16 = 0x05, ret: UInt16 = 0x06
    static let andK: UInt16 = 0x54
    static let offsetNr: UInt32 = 0, offsetArch: UInt32 = 4

    /// What a syscall number leads to: an action, or rules whose conditions are tried in order.
    enum Target: Equatable {
        case action(UInt32)
        case rules([(conditions: [SeccompProfileDocument.Condition], action: UInt32)])

        static func == (a: Target, b: Target) -> Bool {
            switch (a, b) {
            case (.action(let x), .action(let y)): return x == y
            default: return false  // rule blocks are never merged
            }
        }
    }

    /// The program, or nil when a rule needs what this layout does not do (a 64-bit value, an
    /// ordering comparison).
    static func compile(_ profile: SeccompProfileDocument, rules: [SeccompProfileDocument.Rule], arches: [UInt32]) -> [UInt8]? {
        for rule in rules {
            for c in rule.conditions {
                guard [.equal, .notEqual, .maskedEqual].contains(c.op), c.value <= UInt64(UInt32.max), c.valueTwo <= UInt64(UInt32.max)
                else { return nil }
            }
        }
        guard podspawn_seccomp_native_arch() != 0 else { return nil }  // no libseccomp: its own error
        let fallback = profile.defaultAction.value
        var sections: [(arch: UInt32, code: [Instruction])] = []
        for arch in arches {
            // The targets by number, the first applicable unconditional rule winning, as the
            // profile reads.
            var byNumber: [UInt32: Target] = [:]
            for rule in rules {
                for name in rule.names {
                    let nr = podspawn_seccomp_syscall_arch(arch, name)
                    guard nr >= 0 else { continue }
                    let number = UInt32(nr)
                    switch (byNumber[number], rule.conditions.isEmpty) {
                    case (.action?, _): continue
                    case (nil, true), (.rules?, true):
                        if case .rules(let earlier)? = byNumber[number] {
                            byNumber[number] = .rules(earlier + [([], rule.action.value)])
                        } else {
                            byNumber[number] = .action(rule.action.value)
                        }
                    case (nil, false): byNumber[number] = .rules([(rule.conditions, rule.action.value)])
                    case (.rules(let earlier)?, false): byNumber[number] = .rules(earlier + [(rule.conditions, rule.action.value)])
                    }
                }
            }
            // Segments covering every number: runs of one action merged, the gaps the default.
            var segments: [(low: UInt32, target: Target)] = []
            var next: UInt32 = 0
            for number in byNumber.keys.sorted() {
                let target = byNumber[number]!
                if number > next { append(&segments, next, .action(fallback)) }
                append(&segments, number, target)
                next = number &+ 1
                if next == 0 { break }
            }
            if next != 0 || segments.isEmpty { append(&segments, next, .action(fallback)) }
            sections.append((arch, [Instruction(code: ldAbs, k: offsetNr)] + tree(segments[...], fallback: fallback)))
        }
        // The architecture dispatch; any other architecture is killed, as libseccomp does.
        // ld arch; per section: jeq arch (else skip the ja), ja body; ret kill; the bodies.
        var program: [Instruction] = [Instruction(code: ldAbs, k: offsetArch)]
        var bodies: [Instruction] = []
        let bodiesStart = 2 * sections.count + 2
        for section in sections {
            program.append(Instruction(code: jeq, jt: 0, jf: 1, k: section.arch))
            let at = program.count  // the ja's index; it lands at at + 1 + k
            program.append(Instruction(code: ja, k: UInt32(bodiesStart + bodies.count - at - 1)))
            bodies += section.code
        }
        program.append(Instruction(code: ret, k: 0))  // SECCOMP_RET_KILL_THREAD
        program += bodies
        var bytes: [UInt8] = []
        bytes.reserveCapacity(program.count * 8)
        for i in program {
            bytes += [UInt8(i.code & 0xff), UInt8(i.code >> 8), i.jt, i.jf]
            bytes += (0..<4).map { UInt8(truncatingIfNeeded: i.k >> (8 * $0)) }
        }
        return bytes
    }

    private static func append(_ segments: inout [(low: UInt32, target: Target)], _ low: UInt32, _ target: Target) {
        if let last = segments.last, last.target == target { return }
        segments.append((low, target))
    }

    /// The search over `segments` (sorted by `low`, the first starting at the range's low end):
    /// `jge mid` to the upper half, else the lower half; a leaf is its target's code.
    private static func tree(_ segments: ArraySlice<(low: UInt32, target: Target)>, fallback: UInt32) -> [Instruction] {
        if segments.count == 1 { return leaf(segments.first!.target, fallback: fallback) }
        let mid = segments.startIndex + segments.count / 2
        let lower = tree(segments[segments.startIndex..<mid], fallback: fallback)
        let upper = tree(segments[mid...], fallback: fallback)
        let split = segments[mid].low
        if lower.count <= 255 {
            return [Instruction(code: jge, jt: UInt8(lower.count), jf: 0, k: split)] + lower + upper
        }
        // Too far for an 8-bit jump: through a JA.
        return [Instruction(code: jge, jt: 0, jf: 1, k: split), Instruction(code: ja, k: UInt32(lower.count))] + lower + upper
    }

    /// A target's code: `ret action`, or each rule's conditions (a failed one skips to the next
    /// rule) then its action, and the default after the last.
    private static func leaf(_ target: Target, fallback: UInt32) -> [Instruction] {
        guard case .rules(let rules) = target else {
            if case .action(let action) = target { return [Instruction(code: ret, k: action)] }
            return []
        }
        var code: [Instruction] = []
        for rule in rules {
            // Each check's "fail" jumps to the end of this rule's block; fixed up once its
            // length is known.
            var block: [Instruction] = []
            var fails: [Int] = []
            for c in rule.conditions {
                let low = 16 + 8 * c.index, high = low + 4
                switch c.op {
                case .equal:
                    block.append(Instruction(code: ldAbs, k: high))
                    fails.append(block.count)
                    block.append(Instruction(code: jeq, k: 0))  // hi == 0, else fail
                    block.append(Instruction(code: ldAbs, k: low))
                    fails.append(block.count)
                    block.append(Instruction(code: jeq, k: UInt32(c.value)))
                case .notEqual:
                    // Holds when hi != 0 or lo != value.
                    block.append(Instruction(code: ldAbs, k: high))
                    block.append(Instruction(code: jeq, jt: 0, jf: 2, k: 0))  // hi != 0: holds, skip the lo test
                    block.append(Instruction(code: ldAbs, k: low))
                    fails.append(-block.count - 1)  // a jt fail (lo == value)
                    block.append(Instruction(code: jeq, k: UInt32(c.value)))
                case .maskedEqual:
                    block.append(Instruction(code: ldAbs, k: low))
                    block.append(Instruction(code: andK, k: UInt32(c.value)))
                    fails.append(block.count)
                    block.append(Instruction(code: jeq, k: UInt32(c.valueTwo)))
                default:
                    return []
                }
            }
            block.append(Instruction(code: ret, k: rule.action))
            let end = block.count
            for f in fails {
                if f >= 0 {
                    // jt: fall through (0); jf: to the end of the block.
                    block[f].jf = UInt8(end - f - 1)
                } else {
                    let at = -f - 1
                    block[at].jt = UInt8(end - at - 1)
                }
            }
            code += block
        }
        code.append(Instruction(code: ret, k: fallback))
        return code
    }
}
