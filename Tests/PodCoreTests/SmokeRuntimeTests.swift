import Testing
@testable import PodCore

@Suite("Runtime smoke")
struct SmokeRuntimeTests {
    @Test func crashLoop() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(PodSpec(name: "crash", containers: [ContainerSpec(name: "c", command: ["sh", "-c", "sleep 1; exit 3"])]))
        runtime.sleep(700)
        for e in try pod.events() { print(e) }
        let status = try pod.status()
        print(status.containers[0].history.map { "\($0.startedAt)-\($0.finishedAt) \($0.exitCode) \($0.cause)" })
    }
}
