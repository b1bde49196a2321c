import Foundation
import Testing

@testable import PodKit
@testable import PodManifests

@Suite("Manifest")
struct ManifestTests {
    static let fixtureNames = Fixtures.all.map(\.0)
    static func fixture(_ name: String) -> PodSpec { Fixtures.all.first { $0.0 == name }?.1 ?? Fixtures.minimal }

    @Test("fixtures are valid", arguments: fixtureNames)
    func fixturesAreValid(name: String) {
        #expect(Self.fixture(name).validate() == [])
    }

    @Test("decode(encode(spec)) == spec, and the text is stable", arguments: fixtureNames)
    func roundTrip(name: String) throws {
        let spec = Self.fixture(name)
        let text = Manifest.encode(spec)
        let decoded = try Manifest.decodePod(text)
        #expect(decoded.spec == spec)
        #expect(decoded.warnings == [])
        #expect(Manifest.encode(decoded.spec) == text)
    }

    @Test func encodesSortedKeysAndQuotesAmbiguousStrings() {
        #expect(
            Manifest.encode(Fixtures.ambiguousStrings) == """
                apiVersion: v1
                kind: Pod
                metadata:
                  labels:
                    app: 'true'
                    zone: b
                  name: minimal
                spec:
                  containers:
                  - command:
                    - 'true'
                    env:
                    - name: PORT
                      value: '8080'
                    name: main
                    ports:
                    - containerPort: 80
                      hostPort: 8080
                      protocol: TCP
                    resources:
                      limits:
                        cpu: '1'
                        memory: 1Gi
                  restartPolicy: Always
                  terminationGracePeriodSeconds: 30

                """)
    }

    @Test func inlineConfigMapBecomesADocumentBeforeThePod() throws {
        let text = Manifest.encode(Fixtures.everyField)
        let documents = text.components(separatedBy: "---\n")
        #expect(documents.count == 3)
        #expect(documents[0].contains("kind: ConfigMap") && documents[0].contains("name: every-field-config"))
        #expect(documents[1].contains("name: shared-config"))
        #expect(documents[2].contains("kind: Pod"))
        #expect(documents[2].contains("configMap:\n      name: every-field-config"))
    }

    /// A `kubernetes.io/dockerconfigjson` Secret of the stream goes with the pod that names it
    /// in imagePullSecrets, and comes out again before the Pod.
    @Test func imagePullSecretsTakeTheSecretOfTheStream() throws {
        let config = #"{"auths":{"registry.test:5000":{"auth":"YWxpY2U6czNjcmV0"}}}"#
        let text = """
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
              imagePullSecrets: [{name: regcred}, {name: elsewhere}]
              containers: [{name: c, image: registry.test:5000/app:1}]
            """
        let spec = try Manifest.decodePod(text).spec
        #expect(spec.imagePullSecrets.map(\.name) == ["regcred", "elsewhere"])
        let secret = try #require(spec.imagePullSecrets[0].secret)
        #expect(secret.type == Secret.dockerConfigJSON)
        #expect(try secret.registryCredentials()?.get()["registry.test:5000"] == RegistryCredentials(username: "alice", password: "s3cret"))
        #expect(spec.imagePullSecrets[1].secret == nil, "not in the stream: the runtime's Secrets are looked in")
        let again = Manifest.encode(spec)
        #expect(again.components(separatedBy: "---\n").count == 2 && again.hasPrefix("apiVersion: v1\ndata:"), "\(again)")
        #expect(try Manifest.decodePod(again).spec == spec)
    }

    @Test func aSecretThatCannotBeReadNamesItsField() throws {
        func errors(_ text: String) -> String {
            do {
                _ = try Manifest.decode(text)
                return ""
            } catch {
                return "\(error)"
            }
        }
        let pod = "\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  imagePullSecrets: [{name: s}]\n  containers: [{name: c, image: x}]\n"
        #expect(errors("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {k: '!!'}" + pod).contains("data[k]: Invalid value: <secret contents redacted>: illegal base64 data"))
        #expect(errors("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/dockerconfigjson\nstringData: {a: b}" + pod).contains("data[.dockerconfigjson]: Required value"))
        #expect(errors("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/dockerconfigjson\nstringData: {.dockerconfigjson: '{'}" + pod).contains("not JSON"))
        #expect(errors("apiVersion: v1\nkind: Secret\nmetadata: {name: unused}\nstringData: {a: b}" + pod).contains("no Pod of the stream names this Secret in imagePullSecrets"))
        #expect(errors("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  imagePullSecrets: [{}]\n  containers: [{name: c, image: x}]\n").contains("spec.imagePullSecrets[0].name: Required value"))
    }

    @Test func seedManifestDecodesValidatesAndReencodes() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scripts/seed-pod.yaml").standardized
        let text = try String(contentsOf: url, encoding: .utf8)
        let decoded = try Manifest.decodePod(text)
        #expect(decoded.spec == Fixtures.seed)
        #expect(decoded.spec.validate() == [])
        #expect(decoded.spec.qosClass == .burstable)
        let again = try Manifest.decodePod(Manifest.encode(decoded.spec))
        #expect(again.spec == decoded.spec)
    }

    @Test func decodesJSON() throws {
        let json = """
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j", "creationTimestamp": null},
             "spec": {"containers": [{"name": "c", "command": ["sleep", "1"],
                       "resources": {"limits": {"cpu": 0.5, "memory": 134217728}}}]},
             "status": {}}
            """
        let spec = try Manifest.decodePod(json).spec
        #expect(spec.name == "j")
        #expect(spec.containers[0].command == ["sleep", "1"])
        #expect(spec.containers[0].resources.limits.cpu?.canonical == "500m")
        #expect(spec.containers[0].resources.limits.memory?.canonical == "134217728")
    }

    @Test func unsupportedFieldIsAnErrorWithPathAndLine() {
        let yaml = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: p
            spec:
              containers:
              - name: c
                command: [sleep, "1"]
                livenessProbe:
                  exec: {command: [true]}
            """
        #expect(
            throws: ManifestError.invalid(
                ValidationError([
                    FieldError(
                        .unsupportedField, FieldPath("spec.containers[0].livenessProbe"),
                        detail: "swift-pods does not implement this Kubernetes field", line: 9)
                ]))
        ) {
            try Manifest.decodePod(yaml)
        }
        #expect(
            manifestErrors(yaml) == [
                "spec.containers[0].livenessProbe: Unsupported field: swift-pods does not implement this Kubernetes field (line 9)"
            ])
    }

    @Test func lenientModeListsIgnoredPaths() throws {
        let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: p, namespace: default}
            spec:
              dnsPolicy: ClusterFirst
              containers:
              - {name: c, command: ["true"], imagePullPolicy: Always, tty: true, colour: blue}
            """
        let decoded = try Manifest.decodePod(yaml, lenient: true)
        #expect(decoded.spec.containers[0].name == "c")
        #expect(decoded.spec.containers[0].imagePullPolicy == .always)
        #expect(
            decoded.warnings.map(\.path.description) == [
                "metadata.namespace", "spec.dnsPolicy", "spec.containers[0].tty", "spec.containers[0].colour",
            ])
        #expect(decoded.warnings.map(\.kind) == [.unsupportedField, .unsupportedField, .unsupportedField, .unknownField])
        #expect(throws: ManifestError.self) { try Manifest.decodePod(yaml) }
    }

    @Test func unknownFieldSuggestsTheSupportedOne() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  contianers: []\n"
        #expect(
            manifestErrors(yaml) == [
                "spec.contianers: unknown field 'contianers' (did you mean 'containers'?) (line 5)",
                "spec.containers: Required value (line 4)",
            ])
    }

    @Test func wrongTypesAreReportedWithTheirPaths() {
        let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              hostNetwork: "yes please"
              terminationGracePeriodSeconds: 1.5
              containers:
              - name: c
                command: "node app.js"
                env:
                - {name: PORT, value: 8080}
                ports:
                - containerPort: "80"
            """
        #expect(
            manifestErrors(yaml) == [
                "spec.hostNetwork: Invalid type: expected a boolean, got string \"yes please\" (line 5)",
                "spec.terminationGracePeriodSeconds: Invalid value: 1.5: must be an integer (no fraction or exponent) (line 6)",
                "spec.containers[0].command: Invalid type: expected an array of strings, got string \"node app.js\" (line 9)",
                "spec.containers[0].env[0].value: Invalid type: expected a string, got number 8080 (line 11)",
                "spec.containers[0].ports[0].containerPort: Invalid type: expected an integer, got string \"80\" (line 13)",
            ])
    }

    @Test func configMapMustBeInTheStream() {
        let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              volumes: [{name: cfg, configMap: {name: missing}}]
              containers: [{name: c, command: ["true"]}]
            """
        #expect(
            manifestErrors(yaml) == [
                "spec.volumes[0].configMap.name: Not found: \"missing\": no ConfigMap of that name in the manifest stream (line 5)"
            ])
    }

    @Test func unusedConfigMapIsNotDroppedSilently() throws {
        let yaml = Manifest.encode(Fixtures.minimal) + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata: {a: b}\n"
        #expect(
            manifestErrors(yaml) == [
                "metadata.name: Invalid value: \"extra\": no Pod of the stream mounts this ConfigMap (line 16)"
            ])
        #expect(
            try Manifest.decode(yaml, lenient: true).warnings.map(\.description) == [
                "metadata.name: Invalid value: \"extra\": no Pod of the stream mounts this ConfigMap (line 16)"
            ])
    }

    @Test func otherKindsAndVersionsAreRejected() {
        let yaml =
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n---\napiVersion: v2\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n"
        #expect(
            manifestErrors(yaml) == [
                "kind: Unsupported value: \"Deployment\": supported values: \"ConfigMap\", \"Pod\", \"Secret\" (line 2)",
                "apiVersion: Unsupported value: \"v2\": supported values: \"v1\" (line 5)",
            ])
    }

    @Test func decodesAStreamOfSeveralPods() throws {
        let text = Manifest.encode([Fixtures.minimal, Fixtures.hostNamespaces])
        let decoded = try Manifest.decode(text)
        #expect(decoded.pods == [Fixtures.minimal, Fixtures.hostNamespaces])
        #expect(throws: ManifestError.self) { try Manifest.decodePod(text) }
    }

    @Test func kubectlBoilerplateIsAccepted() throws {
        let yaml = """
            apiVersion: v1
            kind: Pod
            metadata:
              creationTimestamp: null
              name: nginx
            spec:
              containers:
              - image: nginx
                name: nginx
                resources: {}
              restartPolicy: Always
            status: {}
            """
        let spec = try Manifest.decodePod(yaml).spec
        #expect(spec == PodSpec(name: "nginx", containers: [ContainerSpec(name: "nginx", image: "nginx")]))
    }
}
