import PodCore
import Testing

@testable import PodKit

/// The sim's clock counts whole nanoseconds; waits whose deadlines fall between two of them
/// (0.1 + 0.05 is 0.15000000000000002) still end.
@Suite("Virtual clock")
struct VirtualClockTests {
    @Test func manySmallSleepsAddUp() {
        let runtime = PodRuntime()
        for _ in 0..<300 { runtime.sleep(0.05) }
        #expect(abs(runtime.now - 15) < 1e-6, "\(runtime.now)")
    }

    @Test func aWaitWithAnAwkwardTimeoutEnds() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(PodSpec(name: "p", containers: [ContainerSpec(name: "c", command: ["sleep", "3600"])]))
        runtime.sleep(0.1)
        #expect(try pod.wait(timeout: 0.05) { _ in false } == .timedOut)
        #expect(abs(runtime.now - 0.15) < 1e-6)
    }
}
