#if canImport(Glibc)
import Glibc
#endif

#if FUZZING
/// The target POD_FUZZ_TARGET names (make fuzz sets it).
nonisolated(unsafe) let selected: ([UInt8]) -> Void = {
    let name = getenv("POD_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = Targets.named(name) else {
        fatalError("POD_FUZZ_TARGET must be one of \(Targets.all.map(\.name).joined(separator: ", ")), got \"\(name)\"")
    }
    return target
}()

/// libFuzzer's driver (the package's executable has its own entry point, so libFuzzer's main
/// is not used).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

@main
struct PodFuzz {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(
            LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                selected(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
                return 0
            })
    }
}
#else
/// Without the fuzzer: `pod-fuzz TARGET PATH...` runs each file (a directory: each file in it)
/// through the target, as a regression run of the corpus and of the crashes found.
@main
struct PodFuzz {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = Targets.named(name) else {
            say("usage: pod-fuzz \(Targets.all.map(\.name).joined(separator: "|")) FILE|DIR...")
            exit(2)
        }
        var count = 0
        for path in arguments.dropFirst() {
            for file in files(path) {
                guard let data = read(file) else {
                    say("pod-fuzz: cannot read \(file)")
                    exit(1)
                }
                target(data)
                count += 1
            }
        }
        print("\(name): \(count) inputs ran")
    }

    static func say(_ line: String) {
        let text = line + "\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }

    static func files(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [path] }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix(".") { continue }
            out.append(path + "/" + name)
        }
        return out.sorted()
    }

    static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n == 0 { break }
            data += buffer[0..<n]
        }
        return data
    }
}
#endif
