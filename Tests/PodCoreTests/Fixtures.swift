@testable import PodKit

/// Specs shared by the manifest, validation and kubernetes-validate tests. Together they use
/// every supported field.
enum Fixtures {
    static func q(_ text: String) -> Quantity {
        // Fixture text is constant and valid; a typo here should fail loudly in every test.
        guard let quantity = try? Quantity(parsing: text) else { preconditionFailure("bad fixture quantity \(text)") }
        return quantity
    }

    static let nginxConf = """
        server {
            listen 80;
            location / {
                proxy_pass http://127.0.0.1:8080;
            }
        }

        """

    /// The seed article's pod, as scripts/seed-pod.yaml holds it.
    static let seed = PodSpec(
        name: "web",
        labels: ["app": "web"],
        shareProcessNamespace: true,
        volumes: [
            VolumeSpec(
                name: "nginx-conf",
                source: .configMap(
                    ConfigMapVolumeSource(
                        name: "nginx-conf", data: ["default.conf": nginxConf])))
        ],
        containers: [
            ContainerSpec(
                name: "node-server", image: "tiven/kube-tiven", command: ["node", "app.js"],
                env: [EnvVar(name: "PORT", value: "8080")],
                ports: [ContainerPort(containerPort: 8080)],
                resources: ResourceRequirements(limits: ResourceList(cpu: q("500m"), memory: q("128Mi")))),
            ContainerSpec(
                name: "nginx", image: "kube-nginx", command: ["nginx", "-g", "daemon off;"],
                ports: [ContainerPort(containerPort: 80, hostPort: 80)],
                volumeMounts: [VolumeMount(name: "nginx-conf", mountPath: "/etc/nginx/conf.d", readOnly: true)]),
        ])

    /// Every pod-level and container-level field of the subset, with non-default values.
    static let everyField = PodSpec(
        name: "every-field",
        labels: ["app": "demo", "example.com/tier": "backend", "empty": ""],
        hostname: "demo-host",
        shareProcessNamespace: true,
        restartPolicy: .onFailure,
        terminationGracePeriodSeconds: 10,
        volumes: [
            VolumeSpec(name: "scratch", source: .emptyDir(EmptyDirVolumeSource())),
            VolumeSpec(name: "cache", source: .emptyDir(EmptyDirVolumeSource(medium: .memory, sizeLimit: q("64Mi")))),
            VolumeSpec(name: "logs", source: .hostPath(HostPathVolumeSource(path: "/var/log/demo", type: .directoryOrCreate))),
            VolumeSpec(name: "hosts", source: .hostPath(HostPathVolumeSource(path: "/etc/hosts", type: .file))),
            VolumeSpec(name: "plain", source: .hostPath(HostPathVolumeSource(path: "/srv"))),
            VolumeSpec(
                name: "config",
                source: .configMap(
                    ConfigMapVolumeSource(
                        data: ["app.conf": "mode: 1\nverbose: true\n", "port": "8080", "flag": "true"]))),
            VolumeSpec(name: "named", source: .configMap(ConfigMapVolumeSource(name: "shared-config", data: ["a": "b"]))),
        ],
        initContainers: [
            ContainerSpec(
                name: "setup", image: "busybox", command: ["sh", "-c"], args: ["echo ready > /work/flag"],
                volumeMounts: [VolumeMount(name: "scratch", mountPath: "/work")],
                resources: ResourceRequirements(requests: ResourceList(cpu: q("1")))),
            ContainerSpec(
                name: "log-shipper", image: "busybox", command: ["tail", "-F", "/logs/app.log"],
                ports: [ContainerPort(containerPort: 9000)],
                volumeMounts: [VolumeMount(name: "logs", mountPath: "/logs", readOnly: true)],
                resources: ResourceRequirements(
                    requests: ResourceList(cpu: q("100m"), memory: q("32Mi")),
                    limits: ResourceList(memory: q("64Mi"))),
                restartPolicy: .always),
        ],
        containers: [
            ContainerSpec(
                name: "app", image: "registry.example.com/app:1.2", command: ["/bin/app"], args: ["--port", "8080", "true"],
                env: [
                    EnvVar(name: "PORT", value: "8080"), EnvVar(name: "EMPTY", value: ""), EnvVar(name: "dotted.name", value: "yes"),
                    EnvVar(name: "QUOTED", value: "a \"b\" 'c' #d: e"),
                ],
                workingDir: "/srv/app",
                ports: [
                    ContainerPort(containerPort: 8080, hostPort: 18080), ContainerPort(containerPort: 53, protocol: .udp),
                    ContainerPort(containerPort: 53, protocol: .tcp), ContainerPort(containerPort: 9999, protocol: .sctp),
                ],
                volumeMounts: [
                    VolumeMount(name: "scratch", mountPath: "/work"),
                    VolumeMount(name: "cache", mountPath: "/cache", subPath: "app/data"),
                    VolumeMount(name: "config", mountPath: "/etc/app", readOnly: true),
                    VolumeMount(name: "hosts", mountPath: "/etc/hosts-copy", readOnly: true),
                    VolumeMount(name: "named", mountPath: "/etc/named"),
                    VolumeMount(name: "plain", mountPath: "/srv/plain"),
                ],
                resources: ResourceRequirements(
                    requests: ResourceList(cpu: q("250m"), memory: q("64Mi")),
                    limits: ResourceList(cpu: q("1.5"), memory: q("1Gi")))),
            ContainerSpec(name: "idle", command: ["pause"]),
        ],
        resources: ResourceRequirements(
            requests: ResourceList(cpu: q("2"), memory: q("512Mi")),
            limits: ResourceList(cpu: q("4"), memory: q("2Gi"))))

    /// The host namespaces and the Never policy.
    static let hostNamespaces = PodSpec(
        name: "host-ns",
        hostNetwork: true, hostPID: true, hostIPC: true,
        restartPolicy: .never,
        terminationGracePeriodSeconds: 0,
        containers: [
            ContainerSpec(
                name: "probe", image: "host", command: ["sleep", "3600"],
                ports: [ContainerPort(containerPort: 8081, hostPort: 8081)])
        ])

    /// The smallest valid pod.
    static let minimal = PodSpec(name: "minimal", containers: [ContainerSpec(name: "main", command: ["true"])])

    /// Labels and values that YAML would read as other types unless quoted.
    static let ambiguousStrings = PodSpec(
        name: "minimal", labels: ["zone": "b", "app": "true"],
        containers: [
            ContainerSpec(
                name: "main", command: ["true"], env: [EnvVar(name: "PORT", value: "8080")],
                ports: [ContainerPort(containerPort: 80, hostPort: 8080)],
                resources: ResourceRequirements(limits: ResourceList(cpu: q("1"), memory: q("1024Mi"))))
        ])

    /// Every securityContext field, pod and container level.
    static let secured: PodSpec = {
        var spec = PodSpec(
            name: "secured", volumes: [VolumeSpec(name: "data", source: .emptyDir(EmptyDirVolumeSource()))],
            containers: [
                ContainerSpec(name: "app", image: "busybox", command: ["sleep", "3600"], volumeMounts: [VolumeMount(name: "data", mountPath: "/data")]),
                ContainerSpec(name: "root-helper", image: "busybox", command: ["sleep", "3600"]),
            ])
        spec.securityContext = PodSecurityContext(
            runAsUser: 1000, runAsGroup: 3000, runAsNonRoot: true, supplementalGroups: [4000, 5000], fsGroup: 2000,
            fsGroupChangePolicy: .onRootMismatch, seccompProfile: SeccompProfile(type: .localhost, localhostProfile: "profiles/app.json"))
        spec.containers[0].securityContext = SecurityContext(
            capabilities: Capabilities(add: ["NET_BIND_SERVICE"], drop: ["ALL"]), readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false, procMount: .default, seccompProfile: .runtimeDefault)
        spec.containers[1].securityContext = SecurityContext(
            runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, capabilities: Capabilities(add: ["SYS_TIME"]), privileged: true)
        return spec
    }()

    /// Every spec the tests encode; the kubernetes-validate test checks the manifest of each.
    static let all: [(String, PodSpec)] = [
        ("seed", seed), ("everyField", everyField), ("hostNamespaces", hostNamespaces), ("minimal", minimal),
        ("ambiguousStrings", ambiguousStrings), ("secured", secured),
    ]
}
