// `import PodCore` is what a program that runs pods imports: the core (specs, status, the
// planner, the runtime, the backend protocol) and the embedded default backend, the simulated
// kernel. The linux backend (`PodLinux`), the backend registry (`PodBackends`) and the
// Kubernetes manifests (`PodManifests`) are imported by name where they are wanted.
@_exported import PodKit
@_exported import PodSim

extension PodRuntime {
    /// A runtime on the embedded default backend: the simulated kernel, with its virtual clock.
    public convenience init() {
        self.init(backend: SimBackend())
    }
}

extension PodRuntimeActor {
    /// An actor-confined runtime on the embedded default backend (the simulated kernel).
    public init() {
        self.init(makeBackend: { SimBackend() })
    }
}
