import PodKit

/// The simulated kernel's virtual clock: time advances only when the owner runs the queue,
/// jumping from one due event to the next, so a 300 s backoff takes microseconds and the same
/// scenario always runs the same way (events at one instant run in the order scheduled).
struct SimClock {
    private struct Entry {
        let at: Int64
        let sequence: Int
        let action: () -> Void
        func before(_ other: Entry) -> Bool { at != other.at ? at < other.at : sequence < other.sequence }
    }

    /// Nanoseconds since the kernel started.
    private(set) var nanos: Int64 = 0
    private var heap: [Entry] = []
    private var sequence = 0

    static func nanos(_ seconds: Double) -> Int64 {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        let value = (seconds * 1e9).rounded()
        return value >= Double(Int64.max / 2) ? Int64.max / 2 : Int64(value)
    }

    var seconds: Double { Double(nanos) / 1e9 }

    /// When the next event is due, if any.
    var nextDue: Int64? { heap.first?.at }

    mutating func schedule(at: Int64, _ action: @escaping () -> Void) {
        sequence += 1
        heap.append(Entry(at: max(at, nanos), sequence: sequence, action: action))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].before(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes the earliest event if it is due at or before `limit`, and moves the clock to it.
    mutating func popDue(upTo limit: Int64) -> (() -> Void)? {
        guard let first = heap.first, first.at <= limit else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < heap.count, heap[left].before(heap[smallest]) { smallest = left }
                if right < heap.count, heap[right].before(heap[smallest]) { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        nanos = max(nanos, first.at)
        return first.action
    }

    /// Moves the clock forward to `time` (never backwards).
    mutating func advance(to time: Int64) { nanos = max(nanos, time) }
}
