import PodBackends
import PodCore
import Testing

/// The Swift examples of the README and the PodCore catalog, as they are written there.
@Suite("Documentation examples")
struct DocumentationExampleTests {
    @Test func theReadmesExample() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(
            PodSpec(
                name: "job", restartPolicy: .never,
                containers: [
                    ContainerSpec(name: "c", command: ["sh", "-c", "exit 3"])
                ]))
        _ = try pod.wait(phase: .failed)
        #expect(try pod.status().containers[0].state.termination?.exitCode ?? -1 == 3)
        runtime.close()
    }

    @Test func theCatalogsLandingExample() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(
            PodSpec(
                name: "web", shareProcessNamespace: true,
                containers: [
                    ContainerSpec(name: "server", image: "busybox", command: ["httpd", "-f", "-p", "8080", "-h", "/www"]),
                    ContainerSpec(name: "client", image: "busybox", command: ["sleep", "3600"]),
                ]))
        #expect(try pod.wait(phase: .running) == .satisfied)
        let result = try runtime.exec("web", container: "client", ["ps"])
        #expect(result.stdout.contains("    1 root     pause\n"), "\(result.stdout)")
        runtime.close()
    }

    @Test func gettingStartedRestartsWithTheBackoff() throws {
        let runtime = PodRuntime()
        defer { runtime.close() }
        let spec = PodSpec(
            name: "job", restartPolicy: .onFailure,
            containers: [
                ContainerSpec(name: "c", command: ["sh", "-c", "sleep 1; exit 3"])
            ])
        let pod = try runtime.run(spec)
        runtime.sleep(15)
        let status = try pod.status()
        #expect(status.containers[0].restartCount == 2)
        #expect(status.containers[0].history.map(\.exitCode) == [3, 3, 3])
        _ = try runtime.logs("job", container: "c", previous: true)
        #expect(!(try runtime.events(of: "job")).isEmpty)
        #expect(BackendRegistry.standard.entry(named: "linux") != nil)
    }
}
