import PodSim
import Testing

@testable import PodKit

@Suite("Image references")
struct ImageReferenceTests {
    typealias R = ImageReference

    @Test(
        arguments: [
            ("busybox", nil, "busybox", nil, nil, "busybox:latest"),
            ("library/busybox:1.36", nil, "library/busybox", "1.36", nil, "library/busybox:1.36"),
            ("localhost/app", "localhost", "app", nil, nil, "localhost/app:latest"),
            ("localhost:5000/a/b/c:v1.2-rc_3", "localhost:5000", "a/b/c", "v1.2-rc_3", nil, "localhost:5000/a/b/c:v1.2-rc_3"),
            ("registry.example/team/web", "registry.example", "team/web", nil, nil, "registry.example/team/web:latest"),
            ("127.0.0.1:5000/x__y.z--w", "127.0.0.1:5000", "x__y.z--w", nil, nil, "127.0.0.1:5000/x__y.z--w:latest"),
            ("[::1]:5000/app:1", "[::1]:5000", "app", "1", nil, "[::1]:5000/app:1"),
            ("Registry.Example/app", "Registry.Example", "app", nil, nil, "Registry.Example/app:latest"),
        ] as [(String, String?, String, String?, String?, String)])
    func parses(text: String, registry: String?, repository: String, tag: String?, digest: String?, normalized: String) throws {
        let reference = try R(parsing: text)
        #expect(reference.registry == registry)
        #expect(reference.repository == repository)
        #expect(reference.tag == tag)
        #expect(reference.digest == digest)
        #expect(reference.normalized == normalized)
        #expect(reference.description == text)
    }

    @Test func aDigestKeepsItsTagAndPinsThePolicy() throws {
        let hex = String(repeating: "ab", count: 32)
        let pinned = try R(parsing: "reg.io/app@sha256:\(hex)")
        #expect(pinned.tag == nil && pinned.digest == "sha256:\(hex)" && pinned.effectiveTag == nil)
        #expect(pinned.normalized == "reg.io/app@sha256:\(hex)")
        #expect(pinned.defaultPullPolicy == .ifNotPresent)
        let both = try R(parsing: "reg.io/app:1.0@sha256:\(hex)")
        #expect(both.tag == "1.0" && both.normalized == "reg.io/app:1.0@sha256:\(hex)")
    }

    @Test func kubernetesDefaultPolicy() throws {
        #expect(try R(parsing: "busybox").defaultPullPolicy == .always)
        #expect(try R(parsing: "busybox:latest").defaultPullPolicy == .always)
        #expect(try R(parsing: "busybox:1.36").defaultPullPolicy == .ifNotPresent)
    }

    @Test func aDefaultRegistryResolvesNamesWithoutAHost() throws {
        #expect(try R(parsing: "nginx:1.25").resolved(defaultRegistry: "docker.io").normalized == "docker.io/library/nginx:1.25")
        #expect(try R(parsing: "team/app").resolved(defaultRegistry: "docker.io").normalized == "docker.io/team/app:latest")
        #expect(try R(parsing: "app").resolved(defaultRegistry: "127.0.0.1:5000").normalized == "127.0.0.1:5000/app:latest")
        #expect(try R(parsing: "quay.io/app").resolved(defaultRegistry: "docker.io").normalized == "quay.io/app:latest")
        #expect(try R(parsing: "app").resolved(defaultRegistry: nil).registry == nil)
    }

    @Test(arguments: [
        ("", "it is empty"),
        ("UPPER", "must be lowercase"),
        ("a//b", "empty path component"),
        ("a/", "empty path component"),
        ("-a", "is not [a-z0-9]+"),
        ("a..b", "is not [a-z0-9]+"),
        ("a___b", "is not [a-z0-9]+"),
        ("app:", "the tag \"\""),
        ("app:.x", "the tag \".x\""),
        ("app:\(String(repeating: "t", count: 129))", "the tag"),
        ("app@sha256:abc", "is not sha256:<64"),
        ("app@md5:\(String(repeating: "a", count: 32))", "is not sha256:<64"),
        ("host:99999/app", "is not host[:port]"),
        ("-bad.host/app", "is not host[:port]"),
        (":tag", "no repository name"),
        ("a b", "is not [a-z0-9]+"),
        (String(repeating: "a", count: 256), "longer than 255"),
    ])
    func refuses(text: String, problem: String) {
        do {
            _ = try R(parsing: text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.problem.contains(problem), "\(error.problem)")
            #expect(error.description.hasPrefix("couldn't parse image name \"\(text)\": invalid reference format"))
        }
    }
}

@Suite("Image config")
struct ImageConfigTests {
    @Test func kubernetesCommandAndArgsRules() {
        let config = ImageConfig(entrypoint: ["/entry"], cmd: ["default"])
        #expect(config.argv(command: [], args: []) == ["/entry", "default"])
        #expect(config.argv(command: [], args: ["given"]) == ["/entry", "given"])
        #expect(config.argv(command: ["own"], args: []) == ["own"])
        #expect(config.argv(command: ["own"], args: ["a"]) == ["own", "a"])
        #expect(ImageConfig(cmd: ["sh"]).argv(command: [], args: []) == ["sh"])
        #expect(ImageConfig().argv(command: [], args: []) == [])
    }

    @Test func theContainersVariablesWin() {
        let config = ImageConfig(env: ["PATH=/bin", "MODE=image", "EMPTY=", "NOVALUE", "=bad", "X=a=b"])
        let env = config.environment(over: [EnvVar(name: "MODE", value: "mine")])
        #expect(env.map { "\($0.name)=\($0.value)" } == ["PATH=/bin", "EMPTY=", "NOVALUE=", "X=a=b", "MODE=mine"])
    }

    @Test func theStopSignal() {
        #expect(ImageConfig(stopSignal: "SIGQUIT").gracefulStopSignal == Signal(name: "QUIT"))
        #expect(ImageConfig(stopSignal: "3").gracefulStopSignal == Signal(name: "QUIT"))
        #expect(ImageConfig().gracefulStopSignal == .term)
        #expect(ImageConfig(stopSignal: "SIGNOPE").gracefulStopSignal == .term)
    }

    @Test func sha256Vectors() {
        // FIPS 180-4 examples, and a length that needs a second padding block.
        #expect(SHA256.digest(of: "abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.digest(of: "") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            SHA256.digest(of: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            SHA256.digest(of: String(repeating: "a", count: 1000))
                == "sha256:41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}

@Suite("Planner: images")
struct PlannerImageTests {
    typealias View = PodPlanner.View
    typealias C = View.Container

    static func container(_ state: ContainerState, pulling: Bool = false, retryAt: Double? = nil) -> C {
        C(
            name: "a", kind: .app, state: state, lastTermination: nil, started: false, completed: false, restartAt: nil,
            backoffDelay: 0, termSent: false, killSent: false, pullingImage: pulling, imageRetryAt: retryAt)
    }

    static func view(_ c: C) -> View {
        View(
            podName: "p", restartPolicy: .always, gracePeriod: 30, phase: .pending, infra: .running, containers: [c],
            stoppingSince: nil, stopGrace: 30)
    }

    @Test func aPullUnderWayHoldsTheStartAndThePhase() {
        let plan = PodPlanner.plan(Self.view(Self.container(.waiting(reason: "ContainerCreating", message: nil), pulling: true)), now: 1)
        #expect(plan.actions.isEmpty)
        #expect(plan.wakeup == nil)
    }

    @Test func errImagePullBecomesImagePullBackOffUntilTheRetry() {
        let failed = Self.container(.waiting(reason: "ErrImagePull", message: "not found"), retryAt: 20)
        let plan = PodPlanner.plan(Self.view(failed), now: 10)
        #expect(plan.actions.map(\.kind) == [.imageBackOff("a", until: 20)])
        #expect(plan.wakeup == 20)
        let waiting = Self.container(.waiting(reason: "ImagePullBackOff", message: nil), retryAt: 20)
        let quiet = PodPlanner.plan(Self.view(waiting), now: 15)
        #expect(quiet.actions.isEmpty && quiet.wakeup == 20)
        #expect(PodPlanner.plan(Self.view(waiting), now: 20).actions.map(\.kind) == [.startContainer("a")])
    }

    @Test func neverPullWaitsWithoutABackOff() {
        let never = Self.container(.waiting(reason: "ErrImageNeverPull", message: nil), retryAt: 11)
        let plan = PodPlanner.plan(Self.view(never), now: 1)
        #expect(plan.actions.isEmpty && plan.wakeup == 11)
    }
}

@Suite("Sim images")
struct SimImageTests {
    @Test func withoutRegisteredImagesTheSimRunsAnyName() throws {
        let sim = SimBackend()
        #expect(!sim.managesImage("anything:at-all"))
        try sim.imageRegistry.register("local", config: ImageConfig(cmd: ["true"]))
        #expect(sim.managesImage("anything:at-all"))
    }

    @Test func theIdIsTheConfigDigestAndStable() throws {
        let a = try SimImages().register("x", config: ImageConfig(cmd: ["a"]))
        let b = try SimImages().register("x", config: ImageConfig(cmd: ["a"]))
        let c = try SimImages().register("x", config: ImageConfig(cmd: ["b"]))
        #expect(a.id == b.id && a.id != c.id)
    }

    @Test func userNames() {
        #expect(SimBackend.credentials("1000")! == (1000, 1000))
        #expect(SimBackend.credentials("1000:50")! == (1000, 50))
        #expect(SimBackend.credentials("nobody")! == (65534, 65534))
        #expect(SimBackend.credentials("root:nogroup")! == (0, 65534))
        #expect(SimBackend.credentials("www-data") == nil)
        #expect(SimBackend.credentials("1:x") == nil)
        #expect(SimBackend.credentials("-1") == nil)
    }
}
