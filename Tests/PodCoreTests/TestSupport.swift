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
