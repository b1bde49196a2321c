import Testing

@testable import PodKit
@testable import PodSim

/// The seed article on the sim backend: pause, a Node.js server, an nginx reverse proxy, host
/// port 80, shared network, IPC and PID namespaces.
@Suite("Seed walkthrough")
struct SeedWalkthroughTests {
    /// Programs standing in for the article's images.
    static func registerSeedPrograms(_ kernel: SimKernel) {
        kernel.register("node") { ctx in
            let port = Int(ctx.env("PORT") ?? "8080") ?? 8080
            if let error = ctx.listen(port, { ctx, _ in .respond(SimHTTPResponse(body: "You've hit \(ctx.hostname())\n")) }) {
                ctx.writeError("listen: \(error)\n")
                return .exit(1)
            }
            ctx.write("Server listening on \(port)\n")
            return .waitForever
        }
        kernel.register("nginx") { ctx in
            let error = ctx.listen(80) { _, request in
                .fetch("http://127.0.0.1:8080\(request.path)", request) { _, result in
                    switch result {
                    case .success(let response): return .respond(response)
                    case .failure: return .respond(SimHTTPResponse(status: 502, body: "502 Bad Gateway\n"))
                    }
                }
            }
            if let error {
                ctx.writeError("nginx: [emerg] bind() to 0.0.0.0:80 failed (\(error.rawValue): \(error))\n")
                return .exit(1)
            }
            return .waitForever
        }
    }

    static func seed(shared: Bool) -> PodSpec {
        PodSpec(
            name: "web", shareProcessNamespace: shared,
            containers: [
                ContainerSpec(
                    name: "node-server", image: "tiven/kube-tiven", command: ["node", "app.js"],
                    env: [EnvVar(name: "PORT", value: "8080")]),
                ContainerSpec(
                    name: "nginx", image: "kube-nginx", command: ["nginx", "-g", "daemon off;"],
                    ports: [ContainerPort(containerPort: 80, hostPort: 80)]),
            ])
    }

    static func runtime() -> PodRuntime {
        let backend = SimBackend()
        registerSeedPrograms(backend.kernel)
        return PodRuntime(backend: backend)
    }

    @Test func theHostReachesNodeThroughNginxOnPort80() throws {
        let runtime = Self.runtime()
        let pod = try runtime.run(Self.seed(shared: true))
        #expect(try pod.wait(phase: .running) == .satisfied)
        let result = try runtime.execOnHost(["wget", "-qO-", "http://127.0.0.1:80/"])
        #expect(result == ExecResult(exitCode: 0, stdout: "You've hit web\n", stderr: ""))
        // Inside the pod, nginx reaches node over the shared loopback too.
        #expect(try pod.exec("nginx", ["wget", "-qO-", "http://localhost:8080/"]).stdout == "You've hit web\n")
        #expect(try pod.logs("node-server") == "Server listening on 8080\n")
    }

    @Test func psShowsThePauseAsPID1AndEveryContainer() throws {
        let runtime = Self.runtime()
        let pod = try runtime.run(Self.seed(shared: true))
        let ps = try pod.exec("node-server", ["ps"])
        #expect(
            ps.stdout == """
                PID   USER     COMMAND
                    1 root     pause
                    2 root     node app.js
                    3 root     nginx -g daemon off;
                    4 root     ps

                """)
    }

    @Test func withoutASharedPIDNamespaceEachContainerSeesItsOwnProcesses() throws {
        let runtime = Self.runtime()
        let pod = try runtime.run(Self.seed(shared: false))
        #expect(try pod.exec("node-server", ["ps"]).stdout == "PID   USER     COMMAND\n    1 root     node app.js\n    2 root     ps\n")
        #expect(try pod.exec("nginx", ["ps"]).stdout == "PID   USER     COMMAND\n    1 root     nginx -g daemon off;\n    2 root     ps\n")
        // The network is still shared.
        #expect(try runtime.execOnHost(["wget", "-qO-", "http://127.0.0.1/"]).stdout == "You've hit web\n")
    }

    @Test func everyContainerHasThePodsHostname() throws {
        let runtime = Self.runtime()
        var spec = Self.seed(shared: true)
        spec.hostname = "web-1"
        let pod = try runtime.run(spec)
        #expect(try pod.exec("node-server", ["hostname"]).stdout == "web-1\n")
        #expect(try pod.exec("nginx", ["hostname"]).stdout == "web-1\n")
        #expect(try runtime.execOnHost(["hostname"]).stdout == "sim-host\n")
        #expect(try runtime.execOnHost(["wget", "-qO-", "http://127.0.0.1/"]).stdout == "You've hit web-1\n")
    }
}
