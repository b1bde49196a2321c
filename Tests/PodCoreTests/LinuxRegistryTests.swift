import Foundation
import PodTestSupport
import Synchronization
import Testing

@testable import PodKit
@testable import PodLinux
import PodManifests

#if canImport(Glibc)
import Glibc
#endif

extension RealLinux {
    /// Pulls from Debian's docker-registry on 127.0.0.1 (TestRegistry): images pushed with
    /// skopeo from layouts Tests/Tools/make-image.py writes; what the registry served read from
    /// its access log.
    @Suite("Linux pulls from a registry", .serialized)
    struct LinuxRegistryTests {
        /// A store of its own and a scratch directory for layouts.
        final class Pulls {
            let dir = LinuxTestSupport.scratch("pulls")
            let store: ImageStore
            let busyboxTar: String

            init() throws {
                _ = try LinuxPods.requirements(needsBusybox: true)
                store = ImageStore(directory: dir + "/store")
                let shared = ImageStore(directory: LinuxTestSupport.imageDir)
                let (_, busybox) = try #require(shared.image(for: "busybox"))
                busyboxTar = try #require(shared.blobPath(busybox.layers[0].blob))
            }

            deinit { LinuxTestSupport.remove(dir) }

            /// An OCI layout of `description` (make-image.py) at `name`; its path.
            func layout(_ name: String, _ description: [String: Any]) throws -> String {
                let path = dir + "/" + name
                let json = String(decoding: try JSONSerialization.data(withJSONObject: description), as: UTF8.self)
                let made = try Command.run(
                    "/usr/bin/env", ["python3", PackageLayout.root.path + "/Tests/Tools/make-image.py", "oci", path], stdin: json)
                guard made.status == 0 else { throw TestRegistry.Failure("make-image.py: \(made.stderr)") }
                return path
            }

            /// The layout's manifest (the first of its index) as JSON.
            func manifest(_ layout: String) throws -> [String: Any] {
                let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: layout + "/index.json"))) as? [String: Any]
                let top = try #require((index?["manifests"] as? [[String: Any]])?.first?["digest"] as? String)
                let node = try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: layout + "/blobs/sha256/" + top.dropFirst(7)))) as? [String: Any]
                return try #require(node)
            }

            func layerDigests(_ layout: String) throws -> [String] {
                try (manifest(layout)["layers"] as? [[String: Any]] ?? []).compactMap { $0["digest"] as? String }
            }

            /// busybox and one small layer of its own, run with `command`.
            func app(_ name: String, file: String, _ command: [String] = ["sh", "-c", "cat /app.txt"]) throws -> String {
                try layout(
                    name,
                    [
                        "ref": "latest", "compression": "gz",
                        "layers": [["tar": busyboxTar], [["name": "app.txt", "data": file]]],
                        "config": ["Cmd": command, "Env": ["PATH=/bin"]],
                    ])
            }

            func staging() -> [String] { LinuxSystem.entries(of: store.tmpDir).map(\.name) }

            func reference(_ text: String) throws -> ImageReference { try ImageReference(parsing: text) }
        }

        @Test func aPodPullsItsImageAndASecondTagFetchesOnlyItsOwnLayer() throws {
            let pulls = try Pulls()
            let registry = try TestRegistry()
            let first = try pulls.app("first", file: "one\n")
            let second = try pulls.app("second", file: "two\n")
            try registry.push(first, as: "app:one")
            try registry.push(second, as: "app:two")
            let state = pulls.dir + "/state"
            let backend = try LinuxBackend(
                options: {
                    var options = LinuxBackendOptions(stateDir: state, imageDir: pulls.store.directory)
                    options.insecureRegistries = [registry.host]
                    return options
                }())
            let runtime = PodRuntime(backend: backend)
            defer {
                runtime.close()
                #expect(LinuxTestSupport.entries(below: state + "/pods") == [], "state left")
            }
            let pod = try runtime.run(
                PodSpec(
                    name: "pulled", restartPolicy: .never,
                    containers: [ContainerSpec(name: "c", image: "\(registry.host)/app:one")]))
            #expect(try pod.wait(timeout: 60) { $0.phase.isTerminal } == .satisfied)
            let events = try pod.events()
            #expect(try pod.status().phase == .succeeded, "\(events.map(\.message))")
            #expect(try runtime.logs("pulled", container: "c") == "one\n")
            let reasons = events.filter { $0.container == "c" }.map(\.reason)
            #expect(Array(reasons.prefix(2)) == ["Pulling", "Pulled"], "\(reasons)")
            let pulled = events.first { $0.reason == "Pulled" }?.message ?? ""
            #expect(pulled.hasPrefix("Successfully pulled image \"\(registry.host)/app:one\" in "), "\(pulled)")
            // The second tag shares busybox: only its own layer comes over.
            let layers = try pulls.layerDigests(second)
            let image = try pulls.store.pull(try pulls.reference("\(registry.host)/app:two"), settings: .init(insecure: true))
            #expect(image.reference == "\(registry.host)/app:two")
            #expect(registry.blobGets(layers[0]).count == 1, "busybox was fetched once: \(registry.blobGets(layers[0]))")
            #expect(registry.blobGets(layers[1]).count == 1)
            #expect(pulls.staging() == [], "nothing staged is left")
        }

        /// The layered image of the load tests (a whiteout, an opaque directory, the config's
        /// user, env, working directory), pulled instead of loaded, runs the same.
        @Test func aPulledImageWithAWhiteoutAndAnOpaqueDirectoryRunsItsConfig() throws {
            let pulls = try Pulls()
            let registry = try TestRegistry()
            try registry.push(try pulls.layout("layered", LinuxImageTests.layered(ref: "latest", base: pulls.busyboxTar)), as: "layered:1.0")
            var options = LinuxBackendOptions(stateDir: pulls.dir + "/state", imageDir: pulls.store.directory)
            options.insecureRegistries = [registry.host]
            let runtime = PodRuntime(backend: try LinuxBackend(options: options))
            defer { runtime.close() }
            let image = "\(registry.host)/layered:1.0"
            _ = try runtime.run(
                PodSpec(name: "layered", containers: [ContainerSpec(name: "app", image: image, env: [EnvVar(name: "MODE", value: "container")])]))
            let ready = try runtime.wait("layered", timeout: 60) { _ in
                (try? runtime.logs("layered", container: "app"))?.contains("ready") == true
            }
            #expect(ready == .satisfied)
            let log = try runtime.logs("layered", container: "app")
            #expect(log == "c\nremoved-gone\nfrom-image container\n/work\n1000\n1001\nready\n", "\(log)")
        }

        @Test func basicAuthTakesLoginCredentialsAnAuthFileAndCreds() throws {
            let pulls = try Pulls()
            guard let podsh = PackageLayout.builtProduct("podsh") else {
                print("skip: registry login: podsh is not built next to the tests")
                return
            }
            let registry = try TestRegistry(auth: .basic(user: "alice", password: "s3cret"))
            try registry.push(try pulls.app("app", file: "basic\n"), as: "team/app:1", creds: "alice:s3cret")
            let authfile = pulls.dir + "/auth/auth.json"
            let common = ["image", "--image-dir", pulls.store.directory, "--insecure-registry", registry.host]
            let anonymous = try Command.run(podsh, common + ["pull", "\(registry.host)/team/app:1", "--authfile", authfile])
            #expect(anonymous.status == 1)
            #expect(anonymous.stderr.contains("authentication required (podsh image login \(registry.host)"), "\(anonymous.stderr)")
            let wrong = try Command.run(
                podsh, common + ["login", registry.host, "-u", "alice", "--password-stdin", "--authfile", authfile], stdin: "nope\n")
            #expect(wrong.status == 1)
            #expect(wrong.stderr.contains("the credentials were refused"), "\(wrong.stderr)")
            #expect(!FileManager.default.fileExists(atPath: authfile), "a refused login writes nothing")
            let login = try Command.run(
                podsh, common + ["login", registry.host, "-u", "alice", "--password-stdin", "--authfile", authfile], stdin: "s3cret\n")
            #expect(login.status == 0, "\(login.stderr)")
            #expect(login.stdout == "Login Succeeded!\n")
            let saved = try RegistryAuthFile.read(authfile)
            #expect(saved.auths[registry.host] == RegistryCredentials(username: "alice", password: "s3cret"))
            var info = stat()
            #expect(stat(authfile, &info) == 0 && info.st_mode & 0o777 == 0o600)
            let pulled = try Command.run(podsh, common + ["pull", "\(registry.host)/team/app:1", "--authfile", authfile])
            #expect(pulled.status == 0, "\(pulled.stderr)")
            #expect(pulled.stdout.hasPrefix("pulled \(registry.host)/team/app:1 "), "\(pulled.stdout)")
            // --creds, into a store of its own.
            let other = pulls.dir + "/other"
            let creds = try Command.run(
                podsh, ["image", "--image-dir", other, "pull", "\(registry.host)/team/app:1", "--tls-verify=false", "--creds", "alice:s3cret"])
            #expect(creds.status == 0, "\(creds.stderr)")
            // A pod pulls with the login's credentials too (the backend's authFile).
            var options = LinuxBackendOptions(stateDir: pulls.dir + "/state", imageDir: pulls.dir + "/pod-store")
            options.insecureRegistries = [registry.host]
            options.authFile = authfile
            let runtime = PodRuntime(backend: try LinuxBackend(options: options))
            let pod = try runtime.run(
                PodSpec(name: "logged-in", restartPolicy: .never, containers: [ContainerSpec(name: "c", image: "\(registry.host)/team/app:1")]))
            #expect(try pod.wait(timeout: 60) { $0.phase.isTerminal } == .satisfied)
            #expect(try runtime.logs("logged-in", container: "c") == "basic\n")
            runtime.close()
            let logout = try Command.run(podsh, common + ["logout", registry.host, "--authfile", authfile])
            #expect(logout.status == 0 && logout.stdout.contains("Removed login credentials for \(registry.host)"), "\(logout.output)")
            #expect(try RegistryAuthFile.read(authfile).auths.isEmpty)
        }

        /// A Pod manifest with its dockerconfigjson Secret pulls from a registry that asks.
        @Test func aPodsImagePullSecretFromItsManifestIsUsed() throws {
            let pulls = try Pulls()
            let registry = try TestRegistry(auth: .basic(user: "carol", password: "pa55"))
            try registry.push(try pulls.app("app", file: "secret\n"), as: "app:1", creds: "carol:pa55")
            let config = #"{"auths":{"\#(registry.host)":{"auth":"\#(Base64.encode("carol:pa55"))"}}}"#
            let spec = try Manifest.decodePod(
                """
                apiVersion: v1
                kind: Secret
                metadata: {name: regcred}
                type: kubernetes.io/dockerconfigjson
                data: {.dockerconfigjson: \(Base64.encode(config))}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: private}
                spec:
                  restartPolicy: Never
                  imagePullSecrets: [{name: regcred}]
                  containers: [{name: c, image: "\(registry.host)/app:1"}]
                """
            ).spec
            var options = LinuxBackendOptions(stateDir: pulls.dir + "/state", imageDir: pulls.store.directory)
            options.insecureRegistries = [registry.host]
            options.authFile = pulls.dir + "/no-auth.json"  // nothing from the host's auth files
            let runtime = PodRuntime(backend: try LinuxBackend(options: options))
            defer { runtime.close() }
            let pod = try runtime.run(spec)
            #expect(try pod.wait(timeout: 60) { $0.phase.isTerminal } == .satisfied)
            let events = try pod.events().map(\.message)
            #expect(try pod.status().phase == .succeeded, "\(events)")
            #expect(try runtime.logs("private", container: "c") == "secret\n")
            // Without the Secret the same pod cannot pull.
            var anonymous = spec
            anonymous.name = "anonymous"
            anonymous.imagePullSecrets = []
            anonymous.containers[0].imagePullPolicy = .always
            let refused = try runtime.run(anonymous)
            #expect(try refused.wait(timeout: 60) { _ in (try? refused.events())?.contains { $0.message == "Error: ErrImagePull" } == true } == .satisfied)
            #expect(try refused.events().contains { $0.message.contains("authentication required") })
        }

        @Test func theBearerTokenFlowGetsATokenWithTheCredentials() throws {
            let pulls = try Pulls()
            let registry = try TestRegistry(auth: .token(user: "bob", password: "tok3n"))
            try registry.push(try pulls.app("app", file: "token\n"), as: "app:1", creds: "bob:tok3n")
            let reference = try pulls.reference("\(registry.host)/app:1")
            #expect {
                try pulls.store.pull(reference, settings: .init(insecure: true))
            } throws: { error in
                "\(error)".contains("authentication required (podsh image login \(registry.host))")
            }
            #expect {
                try pulls.store.pull(reference, settings: .init(insecure: true, credentials: RegistryCredentials(username: "bob", password: "x")))
            } throws: { error in
                "\(error)".contains("answered 401 (UNAUTHORIZED: bad credentials): the credentials were refused")
            }
            let image = try pulls.store.pull(
                reference, settings: .init(insecure: true, credentials: RegistryCredentials(username: "bob", password: "tok3n")))
            #expect(image.reference == "\(registry.host)/app:1")
            #expect(pulls.staging() == [])
        }

        @Test func anIndexGivesThisMachinesPlatformAndBareZstdManifestsAreRead() throws {
            let pulls = try Pulls()
            let registry = try TestRegistry()
            let layout = try pulls.layout(
                "multi",
                [
                    "ref": "latest", "compression": "zst", "bareManifest": true,
                    "platforms": ["linux/arm64", "linux/\(ImageStore.hostArchitecture)"],
                    "layers": [["tar": pulls.busyboxTar], [["name": "which", "data": "zstd layer\n"]]],
                    "config": ["Cmd": ["cat", "/which"]],
                ])
            try registry.push(layout, as: "multi:1", all: true)
            let made = try Command.run(
                "/usr/bin/env", ["python3", PackageLayout.root.path + "/Tests/Tools/make-image.py", "oci", pulls.dir + "/again"],
                stdin: String(
                    decoding: try JSONSerialization.data(withJSONObject: [
                        "ref": "latest", "compression": "zst", "bareManifest": true,
                        "platforms": ["linux/arm64", "linux/\(ImageStore.hostArchitecture)"],
                        "layers": [["tar": pulls.busyboxTar], [["name": "which", "data": "zstd layer\n"]]],
                        "config": ["Cmd": ["cat", "/which"]],
                    ]), as: UTF8.self))
            let hostConfig = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let image = try pulls.store.pull(try pulls.reference("\(registry.host)/multi:1"), settings: .init(insecure: true))
            #expect(image.id == hostConfig, "the config of linux/\(ImageStore.hostArchitecture)")
            let (_, stored) = try #require(pulls.store.image(for: "\(registry.host)/multi:1"))
            let top = try #require(stored.layers.last)
            #expect(LinuxSystem.readFile(pulls.store.layersDir + "/" + top.directory + "/which") == "zstd layer\n")
            #expect(image.config.cmd == ["cat", "/which"])
        }

        @Test func aBlobWhoseBytesDoNotMatchItsDigestIsRefusedAndNothingStays() throws {
            let pulls = try Pulls()
            let registry = try TestRegistry()
            let layout = try pulls.app("app", file: "honest\n")
            try registry.push(layout, as: "app:1")
            let layers = try pulls.layerDigests(layout)
            // The registry serves what its disk holds: change the top layer's bytes there.
            let file = registry.blobFile(layers[1])
            var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            bytes[bytes.count / 2] ^= 0xff
            try bytes.write(to: URL(fileURLWithPath: file))
            #expect {
                try pulls.store.pull(try pulls.reference("\(registry.host)/app:1"), settings: .init(insecure: true))
            } throws: { error in
                "\(error)".contains("layer \(layers[1]) has the digest sha256:") && "\(error)".contains("refused")
            }
            // Not the bad blob; the other layer, stopped halfway, may stay for a later pull to
            // resume — and prune removes it.
            #expect(!pulls.staging().contains { $0.contains(layers[1].dropFirst(7)) }, "\(pulls.staging())")
            try pulls.store.prune()
            #expect(pulls.staging() == [], "prune removes what no pull holds")
            #expect(pulls.store.image(for: "\(registry.host)/app:1") == nil)
            #expect(pulls.store.blobPath(layers[1]) == nil)
            // A missing tag names what is missing, in the registry's words.
            #expect {
                try pulls.store.pull(try pulls.reference("\(registry.host)/app:nope"), settings: .init(insecure: true))
            } throws: { error in
                "\(error)".contains("\(registry.host)/app: manifest nope: not found (MANIFEST_UNKNOWN: manifest unknown)")
            }
        }

        @Test func aMissingImageIsErrImagePullWithTheRegistrysWords() throws {
            let pulls = try Pulls()
            let registry = try TestRegistry()
            let state = pulls.dir + "/state"
            var options = LinuxBackendOptions(stateDir: state, imageDir: pulls.store.directory)
            options.insecureRegistries = [registry.host]
            options.defaultRegistry = registry.host
            let backend = try LinuxBackend(options: options)
            let runtime = PodRuntime(backend: backend)
            defer { runtime.close() }
            // No registry host in the name: the backend's defaultRegistry.
            let pod = try runtime.run(PodSpec(name: "missing", containers: [ContainerSpec(name: "c", image: "nothere:1")]))
            // The failure's event and reason (ImagePullBackOff follows at once, until the retry).
            let outcome = try pod.wait(timeout: 60) { _ in
                (try? pod.events())?.contains { $0.message == "Error: ErrImagePull" } == true
            }
            #expect(outcome == .satisfied)
            let failed = try pod.events().filter { $0.reason == "Failed" }.map(\.message)
            let message = failed.first { $0.hasPrefix("Failed to pull image \"nothere:1\": ") }
            #expect(
                message?.contains("\(registry.host)/nothere: manifest 1: not found (MANIFEST_UNKNOWN: manifest unknown)") == true, "\(failed)")
            guard case .waiting(let reason, _)? = try pod.status().containers.first?.state else {
                Issue.record("not waiting: \(String(describing: try? pod.status()))")
                return
            }
            #expect(reason == "ErrImagePull" || reason == "ImagePullBackOff", "\(reason)")
            // kubelet's image backoff, as the runtime planned it in its events: 10 s, then 20 s
            // after the second failure (waited for as the condition, not timed).
            let twice = try pod.wait(timeout: 120) { _ in
                ((try? pod.events()) ?? []).filter { $0.reason == "BackOff" }.count >= 2
            }
            #expect(twice == .satisfied)
            let planned = try pod.events().filter { $0.reason == "BackOff" }.map(\.message)
            #expect(
                Array(planned.prefix(2)) == ["Back-off 10s pulling image \"nothere:1\"", "Back-off 20s pulling image \"nothere:1\""],
                "\(planned)")
            #expect(try pod.events().filter { $0.reason == "Pulling" }.count >= 2, "pulled again after the first delay")
            #expect(try pod.events().contains { $0.reason == "Failed" && $0.message == "Error: ErrImagePull" })
        }

        @Test func aPullKilledHalfwayResumesItsPartialLayerWithARange() throws {
            let pulls = try Pulls()
            guard let podsh = PackageLayout.builtProduct("podsh") else {
                print("skip: pull resume: podsh is not built next to the tests")
                return
            }
            let registry = try TestRegistry()
            // 8 MiB that do not compress (gzip'd, so skopeo pushes the blob as it is), behind a
            // relay sending 2 MiB a second.
            var random = [UInt8](repeating: 0, count: 8 << 20)
            let urandom = open("/dev/urandom", O_RDONLY)
            _ = random.withUnsafeMutableBytes { read(urandom, $0.baseAddress, $0.count) }
            close(urandom)
            let big = pulls.dir + "/big.bin"
            try Data(random).write(to: URL(fileURLWithPath: big))
            let layout = try pulls.layout(
                "big",
                ["ref": "latest", "compression": "gz", "layers": [[["name": "big.bin", "file": big]]], "config": ["Cmd": ["true"]]])
            try registry.push(layout, as: "big:1")
            let layer = try #require(try pulls.layerDigests(layout).first)
            let size = try #require((try pulls.manifest(layout)["layers"] as? [[String: Any]])?.first?["size"] as? Int)
            let slow = try registry.startHelper("slow-proxy.py", [String(registry.port), String(2 << 20)])
            let reference = "127.0.0.1:\(slow)/big:1"
            let arguments = ["image", "--image-dir", pulls.store.directory, "pull", reference, "--tls-verify=false"]
            let first = Process()
            first.executableURL = URL(fileURLWithPath: podsh)
            first.arguments = arguments
            first.standardOutput = FileHandle.nullDevice
            first.standardError = FileHandle.nullDevice
            try first.run()
            // Killed once half the layer is in its partial file.
            let partial = pulls.store.partialPath(layer)
            let deadline = Date().addingTimeInterval(120)
            while first.isRunning && Date() < deadline {
                var info = stat()
                if stat(partial, &info) == 0 && Int(info.st_size) > size / 2 { break }
                usleep(10_000)
            }
            kill(first.processIdentifier, SIGKILL)
            first.waitUntilExit()
            var info = stat()
            #expect(stat(partial, &info) == 0, "the partial layer stays for the next pull")
            let kept = Int(info.st_size)
            #expect(kept > 0 && kept < size, "\(kept) of \(size)")
            let second = try Command.run(podsh, arguments)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stderr.contains("Copying blob \(layer.dropFirst(7).prefix(12)) done (resumed at \(kept) bytes, \(size - kept) fetched)"), "\(second.stderr)")
            let gets = registry.blobGets(layer)
            #expect(gets.last?.status == 206, "the second GET asked for a Range: \(gets)")
            #expect(gets.last?.bytes == size - kept, "\(gets)")
            #expect(pulls.staging() == [], "the partial became the blob")
            #expect(pulls.store.image(for: reference) != nil)
        }

        /// The layer is unpacked as its blob comes: with the blob held half way by the relay, the
        /// layer's first file is already there (its blob not yet in the store), and the directory
        /// it was unpacked into becomes the layer (same inode: nothing unpacked twice).
        @Test func aLayerIsUnpackedWhileItsBlobIsStillComing() throws {
            let pulls = try Pulls()
            let registry = try TestRegistry()
            var random = [UInt8](repeating: 0, count: 6 << 20)
            let urandom = open("/dev/urandom", O_RDONLY)
            _ = random.withUnsafeMutableBytes { read(urandom, $0.baseAddress, $0.count) }
            close(urandom)
            let big = pulls.dir + "/big.bin"
            try Data(random).write(to: URL(fileURLWithPath: big))
            let layout = try pulls.layout(
                "stream",
                [
                    "ref": "latest", "compression": "gz",
                    "layers": [[["name": "first.txt", "data": "first\n"], ["name": "big.bin", "file": big]]],
                    "config": ["Cmd": ["true"]],
                ])
            try registry.push(layout, as: "stream:1")
            let layer = try #require(try pulls.layerDigests(layout).first)
            let size = try #require((try pulls.manifest(layout)["layers"] as? [[String: Any]])?.first?["size"] as? Int)
            let gate = pulls.dir + "/gate"
            let relay = try registry.startHelper("slow-proxy.py", [String(registry.port), String(64 << 20), String(2 << 20), gate])
            let reference = try pulls.reference("127.0.0.1:\(relay)/stream:1")
            let store = pulls.store
            let finished = DispatchSemaphore(value: 0)
            let outcome = Mutex<Result<ImageInfo, BackendError>?>(nil)
            Thread.detachNewThread {
                let result = Result { () throws(BackendError) in try store.pull(reference, settings: .init(insecure: true)) }
                outcome.withLock { $0 = result }
                finished.signal()
            }
            defer {
                // Whatever happened, the relay lets the pull end.
                FileManager.default.createFile(atPath: gate, contents: nil)
                finished.wait()
            }
            let unpack = store.unpackPath(layer)
            let deadline = Date().addingTimeInterval(120)
            while access(unpack + "/first.txt", F_OK) != 0 && outcome.withLock({ $0 == nil }) && Date() < deadline { usleep(10_000) }
            var directory = stat(), partial = stat()
            try #require(access(unpack + "/first.txt", F_OK) == 0, "first.txt was unpacked before the blob was whole")
            #expect(stat(unpack, &directory) == 0)
            #expect(store.blobPath(layer) == nil, "the blob is still coming")
            #expect(stat(store.partialPath(layer), &partial) == 0 && Int(partial.st_size) < size, "\(partial.st_size) of \(size)")
            FileManager.default.createFile(atPath: gate, contents: nil)
            finished.wait()
            finished.signal()  // for the defer
            let info = try outcome.withLock { $0 }!.get()
            let (_, image) = try #require(store.image(for: info.reference))
            var adopted = stat()
            #expect(stat(store.layersDir + "/" + image.layers[0].directory, &adopted) == 0)
            #expect(adopted.st_ino == directory.st_ino, "the directory unpacked as the blob came is the layer")
            #expect(LinuxSystem.readFile(store.layersDir + "/" + image.layers[0].directory + "/first.txt") == "first\n")
            #expect(store.blobPath(layer) != nil)
            #expect(pulls.staging() == [], "nothing staged is left")
            // Its requests (the manifest, the config, the blob, one after another) shared one connection.
            let requests = registry.requests.filter { $0.path.hasPrefix("/v2/stream/") }.count
            #expect(requests >= 3 && registry.connections(throughHelper: relay) == 1, "\(requests) requests")
        }

        @Test func twoProcessesPullingOneImageFetchEachLayerOnce() throws {
            let pulls = try Pulls()
            guard let podsh = PackageLayout.builtProduct("podsh") else {
                print("skip: concurrent pulls: podsh is not built next to the tests")
                return
            }
            let registry = try TestRegistry()
            let layout = try pulls.app("app", file: "twice\n")
            try registry.push(layout, as: "app:1")
            let processes = (0..<2).map { _ in
                let process = Process()
                process.executableURL = URL(fileURLWithPath: podsh)
                process.arguments = ["image", "--image-dir", pulls.store.directory, "pull", "\(registry.host)/app:1", "--tls-verify=false", "-q"]
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                return process
            }
            for process in processes { try process.run() }
            for process in processes {
                process.waitUntilExit()
                #expect(process.terminationStatus == 0)
            }
            for layer in try pulls.layerDigests(layout) {
                #expect(registry.blobGets(layer).count == 1, "\(layer): \(registry.blobGets(layer))")
            }
            let (_, image) = try #require(pulls.store.image(for: "\(registry.host)/app:1"))
            let dirs = LinuxSystem.entries(of: pulls.store.layersDir).map(\.name).filter { !$0.hasSuffix(".json") && $0 != "mountpoints" }
            #expect(dirs.sorted() == image.layers.map(\.directory).sorted(), "one directory per layer")
            #expect(pulls.staging() == [])
        }
    }
}
