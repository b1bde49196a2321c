import CImageLibs
import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// An OCI layer blob unpacked into a directory of its own (`podimage_extract_layer`: libarchive,
/// every path walked below the directory, whiteouts as overlay whiteouts), with the digests of
/// what was read: the blob as stored and the tar stream it decompresses to (the diff id).
public enum LayerArchive {
    public struct Result: Sendable, Equatable {
        /// `sha256:<hex>` of the blob's bytes.
        public var blobDigest: String
        /// `sha256:<hex>` of the uncompressed tar stream (the config's `rootfs.diff_ids` entry).
        public var diffID: String
        public var blobBytes: Int64
        public var diffBytes: Int64
        public var entries: Int
        /// Bytes of file data written.
        public var fileBytes: Int64
    }

    /// Unpacks the layer in the file `archive` into the existing directory `directory`. A refusal
    /// names the entry; on failure the directory may hold part of the layer (the caller removes it).
    public static func extract(_ archive: String, into directory: String) throws(BackendError) -> Result {
        let operation = "unpack \(archive)"
        let fd = open(archive, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCall.failure("open", archive, errno, operation: operation) }
        defer { close(fd) }
        return try extract(fd: fd, into: directory, operation: operation)
    }

    /// A file that grows while it is unpacked (`podimage_follow`): its writer says how far it
    /// got, then that it finished, or aborts (the extraction then fails). Thread-safe.
    public final class Follow: @unchecked Sendable {
        let handle: OpaquePointer
        public init?() {
            guard let handle = podimage_follow_new() else { return nil }
            self.handle = handle
        }
        deinit { podimage_follow_free(handle) }
        /// The file now holds `size` bytes.
        public func advance(to size: Int64) { podimage_follow_advance(handle, size) }
        /// No more bytes come.
        public func finish() { podimage_follow_finish(handle) }
        /// What the file holds no longer counts: the extraction stops.
        public func abort() { podimage_follow_abort(handle) }
        public var isAborted: Bool { podimage_follow_aborted(handle) != 0 }
    }

    /// Unpacks the layer read from `fd` (from its current offset to its end; with `follow`, a
    /// file still being written, whose end is waited for).
    public static func extract(
        fd: Int32, into directory: String, follow: Follow? = nil, operation: String
    ) throws(BackendError) -> Result {
        let layer = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        guard layer >= 0 else { throw SystemCall.failure("open", directory, errno, operation: operation) }
        defer { close(layer) }
        var result = podimage_layer_result()
        var error = [CChar](repeating: 0, count: 1024)
        let status = podimage_extract_layer(fd, follow?.handle, layer, &result, &error, error.count)
        guard status == 0 else {
            throw BackendError(
                .unsupported, operation, String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return Result(
            blobDigest: "sha256:" + hex(result.blob_digest), diffID: "sha256:" + hex(result.diff_digest),
            blobBytes: Int64(result.blob_bytes), diffBytes: Int64(result.diff_bytes), entries: Int(result.entries),
            fileBytes: Int64(result.file_bytes))
    }

    /// Loads libarchive and libcrypto (once); 0, or -1 with the loader's message in `error`.
    public static func loadLibraries(_ error: inout [CChar]) -> Int32 {
        podimage_load(&error, error.count)
    }

    /// The 64 hex digits of a C digest field.
    static func hex<T>(_ field: T) -> String {
        withUnsafeBytes(of: field) { bytes in String(decoding: bytes.prefix(64), as: UTF8.self) }
    }

    /// `sha256:<hex>` of a file's bytes (libcrypto), and its size.
    public static func digest(ofFile path: String) throws(BackendError) -> (digest: String, bytes: Int64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCall.failure("open", path, errno, operation: "digest \(path)") }
        defer { close(fd) }
        var loadError = [CChar](repeating: 0, count: 256)
        guard podimage_load(&loadError, loadError.count) == 0, let hasher = podimage_sha256_new() else {
            throw BackendError(
                .unavailable, "digest \(path)", String(decoding: loadError.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        var total: Int64 = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                let code = errno
                var ignored = [CChar](repeating: 0, count: 65)
                _ = podimage_sha256_finish(hasher, &ignored)
                throw SystemCall.failure("read", path, code, operation: "digest \(path)")
            }
            if n == 0 { break }
            _ = buffer.withUnsafeBytes { podimage_sha256_update(hasher, $0.baseAddress, n) }
            total += Int64(n)
        }
        var hexDigits = [CChar](repeating: 0, count: 65)
        _ = podimage_sha256_finish(hasher, &hexDigits)
        return ("sha256:" + String(decoding: hexDigits.prefix(64).map { UInt8(bitPattern: $0) }, as: UTF8.self), total)
    }

    /// `sha256:<hex>` of bytes in memory (OpenSSL; the pure-Swift `SHA256` when it cannot be loaded).
    public static func digest(of bytes: [UInt8]) -> String {
        var loadError = [CChar](repeating: 0, count: 256)
        guard podimage_load(&loadError, loadError.count) == 0, let hasher = podimage_sha256_new() else {
            var fallback = SHA256()
            fallback.update(bytes)
            return "sha256:" + fallback.finish()
        }
        _ = bytes.withUnsafeBytes { podimage_sha256_update(hasher, $0.baseAddress, $0.count) }
        var hexDigits = [CChar](repeating: 0, count: 65)
        _ = podimage_sha256_finish(hasher, &hexDigits)
        return "sha256:" + String(decoding: hexDigits.prefix(64).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
