import PodKit

/// System V IPC objects of an IPC namespace, and util-linux `ipcs` formatting.
struct SimIPCObject {
    enum Kind: Hashable {
        case sharedMemory
        case messageQueue
        case semaphoreSet
    }

    let kind: Kind
    let id: Int
    let key: UInt32
    let perms: Int
    /// Bytes (shared memory), used bytes (queues) or number of semaphores.
    let size: Int
}

extension SimIPCNamespace {
    /// Creates an object with a fresh key (util-linux's ipcmk uses a random key) and the next
    /// id of its kind (a fresh namespace starts at 0).
    func create(_ kind: SimIPCObject.Kind, size: Int, perms: Int = 0o644) -> SimIPCObject {
        keySeed = keySeed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let key = UInt32(truncatingIfNeeded: keySeed >> 33) | 1
        let id = nextID[kind, default: 0]
        nextID[kind] = id + 1
        let object = SimIPCObject(kind: kind, id: id, key: key, perms: perms, size: size)
        objects.append(object)
        return object
    }

    /// `ipcs` output for the kinds asked, in util-linux's order and format.
    func listing(_ kinds: [SimIPCObject.Kind]) -> String {
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        func key(_ k: UInt32) -> String { "0x" + String(k, radix: 16).leftPadded(to: 8) + " " }
        var out = ""
        for kind in [SimIPCObject.Kind.messageQueue, .sharedMemory, .semaphoreSet] where kinds.contains(kind) {
            let rows = objects.filter { $0.kind == kind }
            switch kind {
            case .messageQueue:
                out += "\n------ Message Queues --------\n"
                out +=
                    pad("key", 10) + " " + pad("msqid", 10) + " " + pad("owner", 10) + " " + pad("perms", 10) + " "
                    + pad("used-bytes", 12) + " " + pad("messages", 12) + "\n"
                for o in rows {
                    out +=
                        key(o.key) + pad(String(o.id), 10) + " " + pad("root", 10) + " " + pad(String(o.perms, radix: 8), 10)
                        + " " + pad("0", 12) + " " + pad("0", 12) + "\n"
                }
            case .sharedMemory:
                out += "\n------ Shared Memory Segments --------\n"
                out +=
                    pad("key", 10) + " " + pad("shmid", 10) + " " + pad("owner", 10) + " " + pad("perms", 10) + " "
                    + pad("bytes", 10) + " " + pad("nattch", 10) + " " + pad("status", 12) + "\n"
                for o in rows {
                    out +=
                        key(o.key) + pad(String(o.id), 10) + " " + pad("root", 10) + " " + pad(String(o.perms, radix: 8), 10)
                        + " " + pad(String(o.size), 10) + " " + pad("0", 10) + " " + pad(" ", 6) + " " + pad(" ", 6) + "\n"
                }
            case .semaphoreSet:
                out += "\n------ Semaphore Arrays --------\n"
                out +=
                    pad("key", 10) + " " + pad("semid", 10) + " " + pad("owner", 10) + " " + pad("perms", 10) + " "
                    + pad("nsems", 10) + "\n"
                for o in rows {
                    out +=
                        key(o.key) + pad(String(o.id), 10) + " " + pad("root", 10) + " " + pad(String(o.perms, radix: 8), 10)
                        + " " + pad(String(o.size), 10) + "\n"
                }
            }
            out += "\n"
        }
        return out
    }
}
