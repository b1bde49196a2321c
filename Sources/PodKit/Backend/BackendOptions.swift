/// A backend's options as typed values by name — what `pod.use(name, {...})` and podsh's global
/// flags give (`stateDir`, `podPidsLimit`, ...). Each backend decodes the entries it knows into
/// its own options type and refuses the others, naming them.
public struct BackendOptions: Sendable, Equatable {
    /// The options in the order given; a later entry of the same name wins.
    public var entries: [SpecNode.Entry]

    public init(_ entries: [SpecNode.Entry] = []) {
        self.entries = entries
    }

    /// Whether no option was given.
    public var isEmpty: Bool { entries.isEmpty }

    /// The names given, in order, each once.
    public var names: [String] {
        var seen: Set<String> = []
        return entries.compactMap { seen.insert($0.key).inserted ? $0.key : nil }
    }

    /// The value given last for `name`.
    public subscript(name: String) -> SpecNode? {
        entries.last { $0.key == name }?.node
    }

    /// Sets `name` to a string (podsh's flags).
    public mutating func set(_ name: String, _ text: String) {
        entries.append(SpecNode.Entry(name, SpecNode(.string(text))))
    }

    public mutating func set(_ name: String, _ flag: Bool) {
        entries.append(SpecNode.Entry(name, SpecNode(.bool(flag))))
    }

    /// These options with `overrides` over them: a later source wins option by option.
    public func merging(_ overrides: BackendOptions) -> BackendOptions {
        BackendOptions(entries + overrides.entries)
    }

    /// Only the options named in `names` (the ones a backend knows).
    public func restricted(to names: [String]) -> BackendOptions {
        BackendOptions(entries.filter { names.contains($0.key) })
    }
}
