import PodKit

/// A backend that runs programs written against the simulated kernel's process API
/// (`SimContext`): what `pod.sim.program` needs. The sim backend is one; callers find it with
/// a capability check (`backend as? any SimProgramHost`), not by naming a backend type.
public protocol SimProgramHost: AnyObject {
    /// Registers `program` under `name`; it takes precedence over a built-in of that name.
    func register(program name: String, _ program: @escaping SimProgram)
}

extension SimBackend: SimProgramHost {
    public func register(program name: String, _ program: @escaping SimProgram) {
        kernel.register(name, program)
    }
}
