import Testing

@testable import PodKit
@testable import PodManifests

/// What decoding a manifest reports, as text: each field error, the whole error when it is
/// not about fields (syntax), or `["accepted"]` when the manifest decodes.
func manifestErrors(_ text: String) -> [String] {
    do {
        _ = try Manifest.decode(text)
        return ["accepted"]
    } catch {
        return error.fieldErrors.isEmpty ? [error.description] : error.fieldErrors.map(\.description)
    }
}

/// What decoding a flat (Lua-form) spec reports: each field error, or `["accepted"]`.
func flatErrors(_ node: SpecNode) -> [String] {
    do {
        _ = try PodSpec(flat: node)
        return ["accepted"]
    } catch {
        return error.errors.map(\.description)
    }
}

/// What a backend holds; fails the test when it cannot say (it is not inspectable).
func inventory(of backend: any PodBackend) -> BackendInventory {
    guard let inspectable = backend as? any InspectableBackend else {
        Issue.record("\(backend.name) is not an InspectableBackend")
        return BackendInventory(sandboxes: -1, processes: -1, namespaces: -1, details: ["not inspectable"])
    }
    return inspectable.inventory()
}
