import Foundation
import PodTestSupport
import Testing

/// The fuzz targets' seed corpora and every crash the fuzzers (or the hostile-input run) found,
/// replayed through the same target code without the fuzzer: each must run to its end.
@Suite("Fuzz corpora and regressions")
struct FuzzRegressionTests {
    @Test("every seed and regression input runs through its target", arguments: ["manifest", "quantity", "flat-spec", "sim-shell", "image-json", "layer-archive"])
    func replay(target: String) throws {
        guard let fuzz = PackageLayout.builtProduct("pod-fuzz") else {
            try Test.cancel("pod-fuzz is not built next to the tests (swift build --build-tests builds it)")
        }
        let root = PackageLayout.root.path
        let inputs = ["Fuzz/corpus/\(target)", "Fuzz/regressions/\(target)"]
        let count = inputs.reduce(0) { $0 + ((try? FileManager.default.contentsOfDirectory(atPath: root + "/" + $1))?.count ?? 0) }
        #expect(count > 0, "no inputs for \(target)")
        let ran = try Command.run(fuzz, [target] + inputs, directory: PackageLayout.root)
        #expect(ran.status == 0 && ran.stdout == "\(target): \(count) inputs ran\n", "\(ran)")
    }
}
