/// Which fields of each Kubernetes object swift-pods implements, and which other fields the
/// Kubernetes API has (v1.37). A key in the first set is decoded; one in the second is an
/// "Unsupported field" error (a warning in lenient mode); any other key is an "unknown field".
package enum KubernetesFields {
    package static let podTop: Set<String> = ["apiVersion", "kind", "metadata", "spec"]
    package static let podTopKnown: Set<String> = ["status"]

    package static let metadata: Set<String> = ["name", "labels"]
    package static let metadataKnown: Set<String> = [
        "annotations", "creationTimestamp", "deletionGracePeriodSeconds", "deletionTimestamp",
        "finalizers", "generateName", "generation", "managedFields", "namespace", "ownerReferences",
        "resourceVersion", "selfLink", "uid",
    ]

    package static let podSpec: Set<String> = [
        "hostname", "shareProcessNamespace", "hostNetwork", "hostPID", "hostIPC", "restartPolicy",
        "terminationGracePeriodSeconds", "volumes", "initContainers", "containers", "resources", "imagePullSecrets",
        "securityContext", "hostUsers",
    ]
    package static let podSpecKnown: Set<String> = [
        "activeDeadlineSeconds", "affinity", "automountServiceAccountToken", "dnsConfig", "dnsPolicy",
        "enableServiceLinks", "ephemeralContainers", "hostAliases", "hostnameOverride",
        "nodeName", "nodeSelector", "os", "overhead", "preemptionPolicy", "priority",
        "priorityClassName", "readinessGates", "resourceClaims", "runtimeClassName", "schedulerName",
        "schedulingGates", "serviceAccount", "serviceAccountName", "setHostnameAsFQDN",
        "subdomain", "tolerations", "topologySpreadConstraints", "workloadRef",
    ]

    static let localObjectReference: Set<String> = ["name"]

    static let container: Set<String> = [
        "name", "image", "command", "args", "env", "workingDir", "ports", "volumeMounts", "resources",
        "restartPolicy", "imagePullPolicy", "securityContext",
    ]
    static let containerKnown: Set<String> = [
        "envFrom", "lifecycle", "livenessProbe", "readinessProbe", "resizePolicy",
        "restartPolicyRules", "startupProbe", "stdin", "stdinOnce",
        "terminationMessagePath", "terminationMessagePolicy", "tty", "volumeDevices",
    ]

    static let podSecurityContext: Set<String> = [
        "runAsUser", "runAsGroup", "runAsNonRoot", "supplementalGroups", "fsGroup", "fsGroupChangePolicy", "seccompProfile",
    ]
    static let podSecurityContextKnown: Set<String> = [
        "appArmorProfile", "seLinuxChangePolicy", "seLinuxOptions", "supplementalGroupsPolicy",
        "sysctls", "windowsOptions",
    ]
    static let securityContext: Set<String> = [
        "runAsUser", "runAsGroup", "runAsNonRoot", "capabilities", "privileged", "readOnlyRootFilesystem",
        "allowPrivilegeEscalation", "procMount", "seccompProfile",
    ]
    static let securityContextKnown: Set<String> = ["appArmorProfile", "seLinuxOptions", "windowsOptions"]
    static let seccompProfile: Set<String> = ["type", "localhostProfile"]
    static let capabilities: Set<String> = ["add", "drop"]

    static let envVar: Set<String> = ["name", "value"]
    static let envVarKnown: Set<String> = ["valueFrom"]

    static let containerPort: Set<String> = ["containerPort", "hostPort", "protocol"]
    static let containerPortKnown: Set<String> = ["hostIP", "name"]

    static let volumeMount: Set<String> = ["name", "mountPath", "readOnly", "subPath"]
    static let volumeMountKnown: Set<String> = ["mountPropagation", "recursiveReadOnly", "subPathExpr"]

    static let resources: Set<String> = ["requests", "limits"]
    static let resourcesKnown: Set<String> = ["claims"]
    /// Resource names Kubernetes knows besides cpu and memory (prefix matches for hugepages-*).
    static let resourceNamesKnown: Set<String> = ["ephemeral-storage", "storage", "pods"]

    static let volume: Set<String> = ["name", "emptyDir", "hostPath", "configMap"]
    static let volumeKnown: Set<String> = [
        "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "downwardAPI",
        "ephemeral", "fc", "flexVolume", "flocker", "gcePersistentDisk", "gitRepo", "glusterfs", "image",
        "iscsi", "nfs", "persistentVolumeClaim", "photonPersistentDisk", "portworxVolume", "projected",
        "quobyte", "rbd", "scaleIO", "secret", "storageos", "vsphereVolume",
    ]
    static let volumeSources: [String] = ["emptyDir", "hostPath", "configMap"]

    static let emptyDir: Set<String> = ["medium", "sizeLimit"]
    static let hostPath: Set<String> = ["path", "type"]
    /// The inline form (Lua): the data itself, and optionally the ConfigMap's name.
    static let configMapInline: Set<String> = ["name", "data"]
    /// The manifest form: a reference to a ConfigMap document.
    static let configMapReference: Set<String> = ["name"]
    static let configMapReferenceKnown: Set<String> = ["defaultMode", "items", "optional"]

    package static let configMapTop: Set<String> = ["apiVersion", "kind", "metadata", "data"]
    package static let configMapTopKnown: Set<String> = ["binaryData", "immutable"]
    package static let secretTop: Set<String> = ["apiVersion", "kind", "metadata", "data", "stringData", "type"]
    package static let secretTopKnown: Set<String> = ["immutable"]
}
