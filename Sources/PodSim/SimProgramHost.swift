import PodKit

/// A backend that runs programs written against the simulated kernel's process API
/// (`SimContext`): what `pod.sim.program` needs. The sim backend is one; callers find it with
/// a capability check (`backend as? any SimProgramHost`), not by naming a backend type.
public protocol SimProgramHost: AnyObject {
    /// The names a script may not take: the backend's own programs (the pause).
    var reservedPrograms: Set<String> { get }
    /// Registers `program` under `name`; it takes precedence over a built-in of that name.
    func register(program name: String, _ program: @escaping SimProgram)
}

extension SimBackend: SimProgramHost {
    /// The infra process every sandbox starts: a script that replaced it would replace the
    /// sandbox itself.
    public var reservedPrograms: Set<String> { [SimBackend.pauseArgv[0]] }

    public func register(program name: String, _ program: @escaping SimProgram) {
        kernel.register(name, program)
    }
}
