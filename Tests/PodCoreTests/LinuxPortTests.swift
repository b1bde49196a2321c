import CPodSpawn
import Foundation
import Testing

@testable import PodKit
@testable import PodLinux

#if canImport(Glibc)
import Glibc
#endif

/// A TCP port nobody listens on now.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// `count` clients at once: all connect, all send, then every answer is read to EOF.
func concurrentRequests(port: Int, count: Int, request: String) -> [String] {
    var sockets: [Int32] = []
    for _ in 0..<count {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connected != 0 {
            close(fd)
            continue
        }
        sockets.append(fd)
    }
    // Everything sent, then the write side shut (the server sees EOF after the request).
    for fd in sockets {
        var rest = Array(request.utf8)[...]
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            rest = rest.dropFirst(n)
        }
        shutdown(fd, Int32(SHUT_WR))
    }
    var answers: [String] = []
    for fd in sockets {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        close(fd)
        answers.append(String(decoding: bytes, as: UTF8.self))
    }
    return answers
}

extension RealLinux {
    @Suite("Linux pods for real: published host ports", .serialized)
    struct LinuxPortTests {
        static func web(_ env: LinuxPods, name: String, hostPort: Int) -> PodSpec {
            var server = env.box(
                "server", ["sh", "-c", "echo hello from \(name) > /www/index.html; exec httpd -f -p 8080 -h /www"],
                mounts: [VolumeMount(name: "www", mountPath: "/www")])
            server.ports = [ContainerPort(containerPort: 8080, hostPort: hostPort)]
            return PodSpec(name: name, volumes: [VolumeSpec(name: "www", source: .emptyDir(EmptyDirVolumeSource()))], containers: [server])
        }

        @Test func theHostReachesHttpdThroughItsHostPortAndTheSamePortIsRefusedTwice() throws {
            let env = try LinuxPods()
            let port = freePort()
            let pod = try env.runtime.run(Self.web(env, name: "web", hostPort: port))
            #expect(try pod.wait(phase: .running) == .satisfied)
            // The host's own wget (GNU), in the host context, through the forwarder.
            var fetched = ExecResult(exitCode: -1, stdout: "", stderr: "")
            for _ in 0..<100 {
                fetched = try env.runtime.execOnHost(["wget", "-qO-", "http://127.0.0.1:\(port)/"])
                if fetched.exitCode == 0 { break }
                env.runtime.sleep(0.05)
            }
            #expect(fetched.exitCode == 0 && fetched.stdout == "hello from web\n", "\(fetched)")
            // The same host port again: refused at create, in this runtime and from another one.
            do {
                _ = try env.runtime.run(Self.web(env, name: "second", hostPort: port))
                Issue.record("a second pod got the same host port")
            } catch {
                #expect("\(error)".contains("\(port)"), "\(error)")
            }
            let other = try LinuxPods()
            do {
                _ = try other.runtime.run(Self.web(other, name: "third", hostPort: port))
                Issue.record("another runtime got the same host port")
            } catch {
                #expect("\(error)".contains("host port \(port)/TCP is already in use"), "\(error)")
            }
            other.runtime.close()
            #expect(other.backend.inventory().isEmpty, "a refused pod leaves nothing: \(other.backend.inventory().details)")
            // Gone with the pod: the port is free again.
            try pod.remove()
            var error: Int32 = 0
            let again = podspawn_listen_tcp(Int32(port), &error)
            #expect(again >= 0, "port \(port) free after the pod: \(error)")
            if again >= 0 { close(again) }
            env.closeAndCheck()
        }

        /// An echo server with a deep backlog (python3 on the host image): what the client sends
        /// until it shuts its side down comes back, then the server closes — half-closes included.
        static let echo = """
            import socketserver
            class Echo(socketserver.StreamRequestHandler):
                def handle(self):
                    self.wfile.write(self.rfile.read())
            class Server(socketserver.ThreadingTCPServer):
                request_queue_size = 1024
                allow_reuse_address = True
                daemon_threads = True
            Server(("127.0.0.1", 7000), Echo).serve_forever()
            """

        @Test func twoHostPortsLeadToTheirOwnContainerPorts() throws {
            let env = try LinuxPods()
            let (first, second) = (freePort(), freePort())
            func server(_ name: String, _ port: Int, _ hostPort: Int) -> ContainerSpec {
                var c = env.box(name, ["sh", "-c", "mkdir -p /w; echo \(name) > /w/index.html; exec httpd -f -p \(port) -h /w"])
                c.ports = [ContainerPort(containerPort: port, hostPort: hostPort)]
                return c
            }
            let pod = try env.runtime.run(PodSpec(name: "two", containers: [server("one", 8081, first), server("two", 8082, second)]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            func fetch(_ port: Int) throws -> String {
                var fetched = ExecResult(exitCode: -1, stdout: "", stderr: "")
                for _ in 0..<100 {
                    fetched = try env.runtime.execOnHost(["wget", "-qO-", "http://127.0.0.1:\(port)/"])
                    if fetched.exitCode == 0 { break }
                    env.runtime.sleep(0.05)
                }
                return fetched.stdout
            }
            #expect(try fetch(first) == "one\n")
            #expect(try fetch(second) == "two\n")
            let forwarder = try #require(try env.runtime.record("two").sandbox.flatMap { env.backend.forwarderPid(of: $0.id) })
            let ports = LinuxSystem.readFile("/proc/\(forwarder)/cmdline").split(separator: "\0").dropFirst().sorted()
            #expect(ports == ["8081", "8082"])
            env.closeAndCheck()
        }

        /// SIGKILL of the forwarder used to leave the pod Running with its host port dead and no
        /// event. It breaks the sandbox, as the pause's death does: an event, the sandbox
        /// re-created, the port served again.
        @Test func aKilledForwarderIsAnEventAndTheSandboxIsRecreated() throws {
            let env = try LinuxPods()
            let port = freePort()
            let pod = try env.runtime.run(Self.web(env, name: "web", hostPort: port))
            #expect(try pod.wait(phase: .running) == .satisfied)
            func fetch() throws -> ExecResult {
                var fetched = ExecResult(exitCode: -1, stdout: "", stderr: "")
                for _ in 0..<200 {
                    fetched = try env.runtime.execOnHost(["wget", "-qO-", "http://127.0.0.1:\(port)/"])
                    if fetched.exitCode == 0 { break }
                    env.runtime.sleep(0.05)
                }
                return fetched
            }
            #expect(try fetch().stdout == "hello from web\n")
            let first = try #require(try env.runtime.record("web").sandbox?.id)
            let forwarder = try #require(env.backend.forwarderPid(of: first))
            kill(pid_t(forwarder), SIGKILL)
            let broken = try env.runtime.wait("web", timeout: 60) { _ in
                (try? pod.events())?.contains { $0.reason == "InfraExited" } == true
            }
            #expect(broken == .satisfied)
            let event = try #require(try pod.events().first { $0.reason == "InfraExited" })
            #expect(event.message.hasPrefix("The pod's pod-forwarder killed by SIGKILL"), "\(event.message)")
            #expect(event.message.hasSuffix("its published host ports went with it, so the sandbox is re-created"))
            let recreated = try env.runtime.wait("web", timeout: 60) { status in
                status.phase == .running && (try? env.runtime.record("web").sandbox?.id).flatMap { $0 } != first
                    && status.containers.allSatisfy { $0.state.isRunning }
            }
            #expect(recreated == .satisfied)
            #expect(try pod.events().contains { $0.reason == "SandboxChanged" })
            #expect(try fetch().stdout == "hello from web\n", "the host port is served again")
            env.closeAndCheck()
        }

        @Test func theForwarderSurvives200ConcurrentConnectionsAndKeepsNoDescriptor() throws {
            let env = try LinuxPods(needsBusybox: false)
            let port = freePort()
            var server = ContainerSpec(name: "echo", image: "host", command: ["python3", "-c", Self.echo])
            server.ports = [ContainerPort(containerPort: 7000, hostPort: port)]
            let pod = try env.runtime.run(PodSpec(name: "busy", containers: [server]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            let record = try env.runtime.record("busy")
            let forwarder = try #require(record.sandbox.flatMap { env.backend.forwarderPid(of: $0.id) })
            // stdin, stdout, stderr, the epoll descriptor and the one listener.
            func descriptors() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(forwarder)/fd").count) ?? -1 }
            func settled() -> Int {
                for _ in 0..<200 where descriptors() != 5 { env.runtime.sleep(0.02) }
                return descriptors()
            }
            for _ in 0..<100 where concurrentRequests(port: port, count: 1, request: "warm-up").first != "warm-up" {
                env.runtime.sleep(0.05)
            }
            #expect(settled() == 5)
            // The embedded program, none of the owner's memory: its code and one connection's slot.
            let status = LinuxSystem.readFile("/proc/\(forwarder)/status")
            let rss = LinuxPods.residentKB(status)
            #expect(rss < 1024, "the forwarder's resident kB: \(rss)")
            #expect(status.hasPrefix("Name:\tpod-forwarder\n"))
            #expect(LinuxSystem.readFile("/proc/\(forwarder)/cmdline") == "pod-forwarder\07000\0")
            let answers = concurrentRequests(port: port, count: 200, request: String(repeating: "0123456789", count: 5000))
            #expect(answers.count == 200)
            let good = answers.filter { $0 == String(repeating: "0123456789", count: 5000) }.count
            #expect(good == 200, "\(answers.first { $0.count != 50000 }?.count ?? 0) bytes in a short answer")
            #expect(settled() == 5, "every connection's two descriptors are closed once both sides are done")
            // The host port answers while nothing listens in the pod: the connection is closed at once.
            try pod.kill("echo")
            #expect(
                try pod.wait(timeout: 10) { $0.containers[0].restartCount >= 1 || $0.containers[0].state.termination != nil } == .satisfied)
            env.closeAndCheck()
            #expect(kill(pid_t(forwarder), 0) != 0, "the forwarder is gone with the pod")
        }
    }
}
