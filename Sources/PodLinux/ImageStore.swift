import CImageLibs
import CPodSpawn
import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// The linux backend's images (DESIGN §8.2), in `directory` (mode 0700: setuid files and device
/// nodes of images never reach a host user):
///
/// - `blobs/sha256/<hex>`: content-addressed blobs (layers as stored, configs, manifests), each
///   checked against its digest as it is written; a layer's digest is checked again as it is
///   unpacked.
/// - `layers/<16 hex>`: each layer unpacked once, named by its diff id's first 16 hex digits (a
///   short name: the overlay's mount data is one page), with `layers/<16 hex>.json` saying
///   which diff id and blob it holds; shared as an overlay lower directory by every image and
///   container that uses it. `layers/mountpoints` is the top lower directory of every container:
///   `/proc`, `/sys`, `/dev`, `/tmp` to mount on, so a container's writable layer holds only its writes.
/// - `images/<config hex>.json`: an image: its config digest (its id), its layers bottom first,
///   its size; `refs.json` maps references (`busybox:latest`) to image ids, so tags and digests
///   never appear in mount options.
/// - `tmp/`: staging; whatever a killed `import`, `load` or pull left there `prune` removes.
///
/// Writers take `lock` (flock): two processes adding the same layer unpack it each into `tmp/`
/// and the second rename finds the first's and drops its own.
public struct ImageStore: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// The image name every pod may use without an import: the host's `/`.
    public static let hostImage = "host"

    var blobsDir: String { directory + "/blobs/sha256" }
    var layersDir: String { directory + "/layers" }
    var imagesDir: String { directory + "/images" }
    var tmpDir: String { directory + "/tmp" }
    var refsFile: String { directory + "/refs.json" }
    var mountPointsLayer: String { layersDir + "/mountpoints" }

    static let mountPoints: [(String, mode_t)] = [("proc", 0o555), ("sys", 0o555), ("dev", 0o755), ("tmp", 0o1777)]

    // MARK: Reading

    /// One layer of an image.
    public struct Layer: Sendable, Equatable {
        /// The blob's digest, as a manifest names it.
        public var blob: String
        /// The uncompressed tar stream's digest (the config's `rootfs.diff_ids` entry).
        public var diffID: String
        /// The directory name below `layers/`.
        public var directory: String
        /// Bytes of the uncompressed layer.
        public var size: Int64
    }

    /// An image of the store.
    public struct Image: Sendable, Equatable {
        /// `sha256:<hex>` of its config.
        public var id: String
        public var layers: [Layer]
        public var config: ImageConfig
        public var created: String?
        public var size: Int64 { layers.reduce(0) { $0 + $1.size } }
    }

    /// The references and the images they name.
    func references() -> [(reference: String, id: String)] {
        guard let node = try? JSONReader.parse(LinuxSystem.readFile(refsFile)), case .map(let entries) = node.value else { return [] }
        return entries.compactMap { entry in entry.node.stringValue.map { (entry.key, $0) } }.sorted { $0.reference < $1.reference }
    }

    /// The image with id `id`, from its record.
    func image(id: String) -> Image? {
        guard id.hasPrefix("sha256:"), Self.isHex(id.dropFirst(7)) else { return nil }
        let text = LinuxSystem.readFile(imagesDir + "/" + id.dropFirst(7) + ".json")
        guard !text.isEmpty, let node = try? JSONReader.parse(text) else { return nil }
        return decodeImage(node, id: id)
    }

    /// The image `reference` names (normalized: `busybox` is `busybox:latest`), or an image id.
    public func image(for reference: String) -> (reference: String, image: Image)? {
        if reference.hasPrefix("sha256:"), let found = image(id: reference) { return (reference, found) }
        guard let parsed = try? ImageReference(parsing: reference) else { return nil }
        let key = parsed.normalized
        guard let id = references().first(where: { $0.reference == key })?.id, let found = image(id: id) else { return nil }
        return (key, found)
    }

    /// Every reference with its image, sorted by reference.
    public func list() -> [(reference: String, image: Image)] {
        references().compactMap { entry in image(id: entry.id).map { (entry.reference, $0) } }
    }

    /// What an image is as the runtime sees it.
    public func info(_ reference: String, _ image: Image) -> ImageInfo {
        ImageInfo(reference: reference, id: image.id, size: image.size, layers: image.layers.map(\.blob), config: image.config)
    }

    /// The overlay lower directories of a container on `image`, top first (the mount-point
    /// layer, then the image's layers from the top); `/` alone for the host image.
    public func lowerDirectories(for image: String) throws(BackendError) -> [String] {
        if image.isEmpty || image == Self.hostImage { return ["/"] }
        guard let (_, found) = self.image(for: image) else {
            throw BackendError(
                .unsupported, "image",
                "image \"\(image)\" not found in \(directory) (pull, load or import it: podsh image pull|load|import)")
        }
        var dirs = [mountPointsLayer]
        for layer in found.layers.reversed() {
            let dir = layersDir + "/" + layer.directory
            var info = stat()
            guard stat(dir, &info) == 0 else {
                throw BackendError(.unsupported, "image", "image \"\(image)\": its layer \(layer.diffID) is missing from \(layersDir)")
            }
            dirs.append(dir)
        }
        return dirs
    }

    // MARK: Writing

    /// Makes the store's directories (0700) and the mount-point layer.
    func prepare(_ operation: String) throws(BackendError) {
        if let why = LinuxState.untrustedDirectory(directory, what: "image directory") { throw BackendError(.unavailable, operation, why) }
        for dir in [directory, blobsDir, layersDir, imagesDir, tmpDir] {
            if let code = LinuxSystem.makeDirectories(dir, mode: 0o700) {
                throw SystemCall.failure("mkdir", dir, code, operation: operation)
            }
        }
        chmod(directory, 0o700)
        if access(mountPointsLayer, F_OK) != 0 {
            let staging = tmpDir + "/mountpoints-" + LinuxSystem.randomHex()
            guard mkdir(staging, 0o755) == 0 else { throw SystemCall.failure("mkdir", staging, errno, operation: operation) }
            chmod(staging, 0o755)
            for (point, mode) in Self.mountPoints {
                mkdir(staging + "/" + point, mode)
                chmod(staging + "/" + point, mode)
            }
            if rename(staging, mountPointsLayer) != 0 { LinuxSystem.removeTree(staging) }
        }
        // A store made before a mount point was added (sys) gets it; adding a directory to a
        // lower directory changes nothing for the overlays already mounted on it.
        for (point, mode) in Self.mountPoints where access(mountPointsLayer + "/" + point, F_OK) != 0 {
            mkdir(mountPointsLayer + "/" + point, mode)
            chmod(mountPointsLayer + "/" + point, mode)
        }
    }

    /// Runs `body` holding the store's lock (flock on `lock`), so writers in other processes wait.
    func locked<T>(_ operation: String, _ body: () throws(BackendError) -> T) throws(BackendError) -> T {
        try prepare(operation)
        let path = directory + "/lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemCall.failure("open", path, errno, operation: operation) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw SystemCall.failure("flock", path, errno, operation: operation) }
        }
        return try body()
    }

    /// A new staging path below `tmp/`, named for what it stages and this process.
    func staging(_ label: String) -> String {
        tmpDir + "/\(label)-\(getpid())-" + LinuxSystem.randomHex()
    }

    /// Stores the blob in the file `path` under its digest (checked against `expected` when
    /// given, unless `checked` says the caller just did); the file is moved in when it is in
    /// `tmp/`, copied otherwise.
    @discardableResult
    func addBlob(
        file path: String, expected: String?, checked: Bool = false, operation: String
    ) throws(BackendError) -> (digest: String, size: Int64) {
        let digest: String
        let size: Int64
        var info = stat()
        if checked, let expected, stat(path, &info) == 0 {
            // The caller has just hashed the file (a pull, as it fetched it).
            (digest, size) = (expected, Int64(info.st_size))
        } else {
            (digest, size) = try LayerArchive.digest(ofFile: path)
        }
        if let expected, expected != digest {
            throw BackendError(.unsupported, operation, "blob \(expected) has the digest \(digest): refused")
        }
        let target = blobsDir + "/" + digest.dropFirst(7)
        if access(target, F_OK) == 0 {
            if path.hasPrefix(tmpDir + "/") { unlink(path) }
            return (digest, size)
        }
        let source: String
        if path.hasPrefix(tmpDir + "/") {
            source = path
        } else {
            source = staging("blob")
            try Self.copyFile(path, to: source, operation: operation)
        }
        guard rename(source, target) == 0 else { throw SystemCall.failure("rename", "\(source), \(target)", errno, operation: operation) }
        chmod(target, 0o600)
        return (digest, size)
    }

    /// Stores `text` as a blob; its digest.
    func addBlob(text: String, operation: String) throws(BackendError) -> String {
        let path = staging("doc")
        if let code = LinuxSystem.writeFile(path, text, mode: 0o600) { throw SystemCall.failure("write", path, code, operation: operation) }
        return try addBlob(file: path, expected: nil, operation: operation).digest
    }

    /// The path of a stored blob, or nil.
    func blobPath(_ digest: String) -> String? {
        guard digest.hasPrefix("sha256:"), Self.isHex(digest.dropFirst(7)) else { return nil }
        let path = blobsDir + "/" + digest.dropFirst(7)
        return access(path, F_OK) == 0 ? path : nil
    }

    /// The layer of the stored blob `blob`, unpacked when no layer of its diff id exists yet. The
    /// blob's digest is checked again as it is read; `diffID`, when known (from the config), too.
    func unpackLayer(blob: String, diffID expected: String?, operation: String) throws(BackendError) -> Layer {
        if let expected, let existing = layer(diffID: expected) { return existing }
        guard let path = blobPath(blob) else { throw BackendError(.unsupported, operation, "blob \(blob) is not in the store") }
        let dir = staging("layer")
        guard mkdir(dir, 0o755) == 0 else { throw SystemCall.failure("mkdir", dir, errno, operation: operation) }
        var kept = false
        defer { if !kept { LinuxSystem.removeTree(dir) } }
        let result = try LayerArchive.extract(path, into: dir)
        let layer = try adoptLayer(dir, result, blob: blob, diffID: expected, operation: operation)
        kept = true
        return layer
    }

    /// Makes the unpacked layer in `dir` (below `tmp/`; `result` is what its extraction read)
    /// the store's layer of its diff id, once its digests are the ones expected; the layer. When
    /// the store has that layer already (another writer was first), `dir` is removed. The
    /// caller holds the store's lock; on a failure it removes `dir`.
    func adoptLayer(
        _ dir: String, _ result: LayerArchive.Result, blob: String, diffID expected: String?, operation: String
    ) throws(BackendError) -> Layer {
        guard result.blobDigest == blob else {
            throw BackendError(.unsupported, operation, "blob \(blob) has the digest \(result.blobDigest) as read: refused")
        }
        if let expected, expected != result.diffID {
            throw BackendError(
                .unsupported, operation, "layer \(blob) has the diff id \(result.diffID), the config says \(expected): refused")
        }
        if let existing = layer(diffID: result.diffID) {
            LinuxSystem.removeTree(dir)
            return existing
        }
        let hex = result.diffID.dropFirst(7)
        var name = String(hex.prefix(16))
        if let other = layerRecord(name), other.diffID != result.diffID { name = String(hex) }
        let layer = Layer(blob: blob, diffID: result.diffID, directory: name, size: result.diffBytes)
        let recordPath = layersDir + "/" + name + ".json"
        let record = SpecNode(
            .map([
                .init("blob", SpecNode(.string(blob))), .init("diffID", SpecNode(.string(result.diffID))),
                .init("size", SpecNode(.number(String(result.diffBytes)))),
            ]))
        let recordStaging = staging("layer-record")
        if let code = LinuxSystem.writeFile(recordStaging, record.jsonText, mode: 0o600) {
            throw SystemCall.failure("write", recordStaging, code, operation: operation)
        }
        // The record first: a directory without one is a half-made layer `prune` removes.
        guard rename(recordStaging, recordPath) == 0 else {
            throw SystemCall.failure("rename", "\(recordStaging), \(recordPath)", errno, operation: operation)
        }
        let target = layersDir + "/" + name
        if rename(dir, target) != 0 {
            if errno == EEXIST || errno == ENOTEMPTY {  // another writer was first
                LinuxSystem.removeTree(dir)
                return layer
            }
            throw SystemCall.failure("rename", "\(dir), \(target)", errno, operation: operation)
        }
        return layer
    }

    func layerRecord(_ name: String) -> Layer? {
        let text = LinuxSystem.readFile(layersDir + "/" + name + ".json")
        guard !text.isEmpty, let node = try? JSONReader.parse(text), let blob = node["blob"]?.stringValue,
            let diffID = node["diffID"]?.stringValue
        else { return nil }
        return Layer(blob: blob, diffID: diffID, directory: name, size: node["size"]?.integerValue ?? 0)
    }

    /// The unpacked layer of `diffID`, when there is one.
    func layer(diffID: String) -> Layer? {
        let hex = diffID.dropFirst(7)
        guard diffID.hasPrefix("sha256:"), Self.isHex(hex) else { return nil }
        for name in [String(hex.prefix(16)), String(hex)] {
            if let found = layerRecord(name), found.diffID == diffID, access(layersDir + "/" + name, F_OK) == 0 { return found }
        }
        return nil
    }

    /// Records the image of `config` (its JSON text) over `layers`, and points `references` at it.
    @discardableResult
    func commit(config text: String, layers: [Layer], references: [String], operation: String) throws(BackendError) -> Image {
        let configNode: SpecNode
        do {
            configNode = try JSONReader.parse(text)
        } catch {
            throw BackendError(.unsupported, operation, "the image config is not JSON: \(error)")
        }
        let id = try addBlob(text: text, operation: operation)
        let image = Image(
            id: id, layers: layers, config: Self.runConfig(configNode), created: configNode["created"]?.stringValue)
        let record = SpecNode(
            .map([
                .init("id", SpecNode(.string(id))),
                .init(
                    "layers",
                    SpecNode(
                        .array(
                            layers.map { layer in
                                SpecNode(
                                    .map([
                                        .init("blob", SpecNode(.string(layer.blob))), .init("diffID", SpecNode(.string(layer.diffID))),
                                        .init("directory", SpecNode(.string(layer.directory))),
                                        .init("size", SpecNode(.number(String(layer.size)))),
                                    ]))
                            }))),
            ]))
        let path = imagesDir + "/" + id.dropFirst(7) + ".json"
        let recordStaging = staging("image")
        if let code = LinuxSystem.writeFile(recordStaging, record.jsonText, mode: 0o600) {
            throw SystemCall.failure("write", recordStaging, code, operation: operation)
        }
        guard rename(recordStaging, path) == 0 else {
            throw SystemCall.failure("rename", "\(recordStaging), \(path)", errno, operation: operation)
        }
        var refs = self.references().filter { entry in !references.contains(entry.reference) }
        for reference in references { refs.append((reference, id)) }
        try writeReferences(refs, operation: operation)
        return image
    }

    func writeReferences(_ refs: [(reference: String, id: String)], operation: String) throws(BackendError) {
        let node = SpecNode(.map(refs.sorted { $0.reference < $1.reference }.map { .init($0.reference, SpecNode(.string($0.id))) }))
        let path = staging("refs")
        if let code = LinuxSystem.writeFile(path, node.jsonText + "\n", mode: 0o600) {
            throw SystemCall.failure("write", path, code, operation: operation)
        }
        guard rename(path, refsFile) == 0 else { throw SystemCall.failure("rename", "\(path), \(refsFile)", errno, operation: operation) }
    }

    // MARK: Import

    /// Imports `source` — a root file system directory, or a tarball (plain, gzip, xz, bzip2 or
    /// zstd) — as a one-layer image tagged `name` (`busybox`, `app:1.0`). A directory is packed
    /// with tar first: the layer is always unpacked from a blob, by the one safe path.
    @discardableResult
    public func importImage(_ name: String, from source: String) throws(BackendError) -> ImageInfo {
        let operation = "image import \(name)"
        func failure(_ message: String) -> BackendError { BackendError(.unsupported, operation, message) }
        let reference: ImageReference
        do {
            reference = try ImageReference(parsing: name)
        } catch {
            throw failure(error.description)
        }
        if name == Self.hostImage { throw failure("\"host\" is the host's own root and cannot be imported") }
        var info = stat()
        guard stat(source, &info) == 0 else { throw SystemCall.failure("stat", source, errno, operation: operation) }
        let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        guard isDirectory || (info.st_mode & S_IFMT) == S_IFREG else { throw failure("\(source) is neither a directory nor a tarball") }
        return try locked(operation) { () throws(BackendError) -> ImageInfo in
            var blobFile = source
            var packed: String?
            defer { if let packed { unlink(packed) } }
            if isDirectory {
                let tarball = staging("import")
                packed = tarball
                let result = HostCommand.run(["tar", "-C", source, "--numeric-owner", "--xattrs", "-cf", tarball, "."])
                guard result.status == 0 else { throw failure("tar failed: \(Self.failureDetail(result.stderr, status: result.status))") }
                blobFile = tarball
            }
            let (digest, _) = try LayerArchive.digest(ofFile: blobFile)
            let isNew = blobPath(digest) == nil
            let blob = try addBlob(file: blobFile, expected: digest, operation: operation)
            if blobFile == packed { packed = nil }  // moved into the store
            let layer: Layer
            do throws(BackendError) {
                layer = try unpackLayer(blob: blob.digest, diffID: nil, operation: operation)
            } catch {
                // A blob that is no layer is not kept.
                if isNew, let path = blobPath(blob.digest) { unlink(path) }
                throw error
            }
            let config = Self.configJSON(diffIDs: [layer.diffID], config: ImageConfig(), created: Self.now())
            let image = try commit(config: config, layers: [layer], references: [reference.normalized], operation: operation)
            return self.info(reference.normalized, image)
        }
    }

    // MARK: Removal

    /// Removes the reference (`busybox`, `app:1.0`) or every reference of an image id; the
    /// image's record goes with its last reference. Layers and blobs stay until `prune`.
    public func remove(_ reference: String) throws(BackendError) {
        let operation = "image rm \(reference)"
        try locked(operation) { () throws(BackendError) in
            let refs = references()
            let key: String
            if reference.hasPrefix("sha256:") {
                key = reference
            } else if let parsed = try? ImageReference(parsing: reference) {
                key = parsed.normalized
            } else {
                throw BackendError(.unsupported, operation, "\"\(reference)\" is neither a reference nor an image id")
            }
            let doomed = refs.filter { $0.reference == key || $0.id == key }
            guard !doomed.isEmpty else { throw BackendError(.unsupported, operation, "no image \"\(reference)\" in \(directory)") }
            let kept = refs.filter { entry in !doomed.contains { $0.reference == entry.reference } }
            try writeReferences(kept, operation: operation)
            for id in Set(doomed.map(\.id)) where !kept.contains(where: { $0.id == id }) {
                unlink(imagesDir + "/" + id.dropFirst(7) + ".json")
            }
        }
    }

    /// What `prune` removed.
    public struct PruneReport: Sendable, Equatable {
        public var images = 0
        public var layers = 0
        public var blobs = 0
        public var staging = 0
    }

    /// Removes what no reference needs: image records without a reference, layers and blobs no
    /// image uses, and every staging leftover (a killed import, load or pull). Layers a running
    /// container mounts stay usable: an overlay holds its lower directories open.
    @discardableResult
    public func prune() throws(BackendError) -> PruneReport {
        let operation = "image prune"
        return try locked(operation) { () throws(BackendError) -> PruneReport in
            var report = PruneReport()
            let refs = references()
            let liveIDs = Set(refs.map(\.id))
            var liveLayers = Set<String>()
            var liveBlobs = Set<String>()
            for entry in LinuxSystem.entries(of: imagesDir) where entry.name.hasSuffix(".json") {
                let id = "sha256:" + entry.name.dropLast(5)
                guard liveIDs.contains(id), let image = image(id: id) else {
                    unlink(imagesDir + "/" + entry.name)
                    report.images += 1
                    continue
                }
                liveBlobs.insert(id)
                for layer in image.layers {
                    liveLayers.insert(layer.directory)
                    liveBlobs.insert(layer.blob)
                }
            }
            // A layer a running container mounts stays, whatever references say: changing an
            // overlay's lower directory under it is undefined (its image may have been removed
            // since; the container keeps running, as it would under kubelet).
            let mounted = layersInUse()
            for entry in LinuxSystem.entries(of: layersDir) {
                let name = entry.name.hasSuffix(".json") ? String(entry.name.dropLast(5)) : entry.name
                if name == "mountpoints" || liveLayers.contains(name) || mounted.contains(name) { continue }
                LinuxSystem.removeTree(layersDir + "/" + entry.name)
                if !entry.name.hasSuffix(".json") { report.layers += 1 }
            }
            for entry in LinuxSystem.entries(of: blobsDir) where !liveBlobs.contains("sha256:" + entry.name) {
                unlink(blobsDir + "/" + entry.name)
                report.blobs += 1
            }
            // Staging of this process's own work in progress has a pid in its name; a live
            // process's is kept (a pull under way in another process), a dead one's removed.
            for entry in LinuxSystem.entries(of: tmpDir) {
                // A pull's partial layer blob and the directory it is unpacked into as it comes
                // are kept while a pull holds their flock (they are being fetched); a killed
                // pull's go (or the next pull resumes the blob, if it comes first).
                if entry.name.hasPrefix("pull-") {
                    let path = tmpDir + "/" + entry.name
                    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
                    if fd >= 0 {
                        defer { close(fd) }
                        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
                    }
                    LinuxSystem.removeTree(path)
                    report.staging += 1
                    continue
                }
                let parts = entry.name.split(separator: "-")
                if parts.count >= 3, let pid = Int32(parts[parts.count - 2]), pid != getpid(), kill(pid, 0) == 0 || errno == EPERM {
                    continue
                }
                LinuxSystem.removeTree(tmpDir + "/" + entry.name)
                report.staging += 1
            }
            return report
        }
    }

    /// The layer directories (names below `layers/`) that an overlay of some process's mount
    /// namespace has as a lower directory: every mount namespace on the host, read once each from
    /// /proc/PID/mountinfo.
    func layersInUse() -> Set<String> {
        var seen = Set<String>()
        var used = Set<String>()
        let prefix = layersDir + "/"
        for entry in LinuxSystem.entries(of: "/proc") where entry.name.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            guard let namespace = LinuxSystem.pathOf(link: "/proc/\(entry.name)/ns/mnt"), seen.insert(namespace).inserted else { continue }
            let mountinfo = LinuxSystem.readFile("/proc/\(entry.name)/mountinfo")
            guard mountinfo.contains(prefix) else { continue }
            for line in mountinfo.split(separator: "\n") where line.contains(" - overlay ") {
                guard let options = line.split(separator: " ").last else { continue }
                // `lowerdir=a:b:c` (mount(2)), or `lowerdir+=a` once per layer (fsconfig: an
                // overlay of more layers than one page of options holds).
                for option in options.split(separator: ",") {
                    let dirs: [Substring]
                    if option.hasPrefix("lowerdir=") {
                        dirs = option.dropFirst(9).split(separator: ":")
                    } else if option.hasPrefix("lowerdir+=") {
                        dirs = [option.dropFirst(10)]
                    } else {
                        continue
                    }
                    for dir in dirs where dir.hasPrefix(prefix) { used.insert(String(dir.dropFirst(prefix.count))) }
                }
            }
        }
        return used
    }

    // MARK: Documents

    /// The OCI config's `config` object as the runtime applies it.
    public static func runConfig(_ node: SpecNode) -> ImageConfig {
        let config = node["config"] ?? node["container_config"] ?? SpecNode(.null)
        func strings(_ key: String) -> [String] { config[key]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        func text(_ key: String) -> String? { config[key]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }
        return ImageConfig(
            entrypoint: strings("Entrypoint"), cmd: strings("Cmd"), env: strings("Env"), workingDir: text("WorkingDir"),
            user: text("User"), stopSignal: text("StopSignal"))
    }

    /// The image a record describes, its config read from the config blob (checked against its
    /// digest: a store edited by hand is not trusted).
    func decodeImage(_ node: SpecNode, id: String) -> Image? {
        guard node["id"]?.stringValue == id, let layers = node["layers"]?.arrayValue else { return nil }
        var out: [Layer] = []
        for layer in layers {
            guard let blob = layer["blob"]?.stringValue, let diffID = layer["diffID"]?.stringValue,
                let directory = layer["directory"]?.stringValue, !directory.isEmpty, !directory.contains("/"),
                !directory.hasPrefix(".")
            else { return nil }
            out.append(Layer(blob: blob, diffID: diffID, directory: directory, size: layer["size"]?.integerValue ?? 0))
        }
        guard let path = blobPath(id), let (digest, _) = try? LayerArchive.digest(ofFile: path), digest == id,
            let config = try? JSONReader.parse(LinuxSystem.readFile(path))
        else { return nil }
        return Image(id: id, layers: out, config: Self.runConfig(config), created: config["created"]?.stringValue)
    }

    /// An OCI image config for layers with these diff ids.
    static func configJSON(diffIDs: [String], config: ImageConfig, created: String) -> String {
        SpecNode(
            .map([
                .init("architecture", SpecNode(.string(hostArchitecture))), .init("config", config.node),
                .init("created", SpecNode(.string(created))), .init("os", SpecNode(.string("linux"))),
                .init(
                    "rootfs",
                    SpecNode(
                        .map([
                            .init("diff_ids", SpecNode(.array(diffIDs.map { SpecNode(.string($0)) }))),
                            .init("type", SpecNode(.string("layers"))),
                        ]))),
            ])
        ).jsonText
    }

    /// The OCI architecture of this machine.
    static var hostArchitecture: String {
        var name = utsname()
        uname(&name)
        let machine = withUnsafeBytes(of: name.machine) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64": return "arm64"
        default: return machine
        }
    }

    /// Now, as RFC 3339 in UTC.
    static func now() -> String {
        var time = time_t()
        Glibc.time(&time)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return
            "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    static func isHex(_ text: Substring) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    static func copyFile(_ source: String, to target: String, operation: String) throws(BackendError) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw SystemCall.failure("open", source, errno, operation: operation) }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw SystemCall.failure("open", target, errno, operation: operation) }
        defer { close(output) }
        if let code = LinuxSystem.copy(from: input, to: output) {
            throw SystemCall.failure("copy", "\(source), \(target)", code, operation: operation)
        }
    }

    /// What made `tar` fail, from its stderr: the last error line, not a warning.
    static func failureDetail(_ stderr: String, status: Int32) -> String {
        let warnings = [
            "Removing leading", "Exiting with failure status", "Ignoring unknown extended header keyword",
            "implausibly old time stamp", "in the future", "Error is not recoverable: exiting now", "socket ignored",
        ]
        let lines = stderr.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        let errors = lines.filter { line in !warnings.contains { line.contains($0) } }
        return errors.last ?? lines.last ?? "exit status \(status)"
    }
}

/// A host program run to completion (`tar`), its stderr captured.
enum HostCommand {
    static func run(_ argv: [String]) -> (status: Int32, stderr: String) {
        let errFD = podspawn_memfd("stderr", "", 0)
        defer { if errFD >= 0 { close(errFD) } }
        let args = CStringArray(argv)
        let env = CStringArray(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"])
        var pid: pid_t = 0
        let spawned = args.withPointer { a in env.withPointer { e in podspawn_host(argv[0], a, e, -1, -1, errFD, &pid) } }
        guard spawned == 0 else { return (127, "\(argv[0]): \(LinuxSystem.describe(spawned))") }
        let status = LinuxSystem.waitExit(pid)
        let stderr = errFD >= 0 ? String(decoding: LinuxSystem.readAll(fd: errFD), as: UTF8.self) : ""
        return (WaitStatus(status).exitCode, stderr)
    }
}

// MARK: - Load

extension ImageStore {
    /// The largest manifest, index or config read (the issue's cap: a hostile 1 GB "manifest"
    /// is refused before it is read).
    static let documentLimit = 4 << 20

    /// Loads the images of `path`: an OCI image layout directory (`oci-layout`, `index.json`), a
    /// directory as `docker save` writes it (`manifest.json`), or either as a tar archive
    /// (oci-archive, docker-archive; compressed or not). Tags come from the layout's
    /// `org.opencontainers.image.ref.name` annotations or docker's `RepoTags`; a bare tag (as
    /// skopeo writes) is given the name `name`, or the file's name without its extension.
    @discardableResult
    public func load(_ path: String, name: String? = nil) throws(BackendError) -> [ImageInfo] {
        let operation = "image load \(path)"
        var info = stat()
        guard stat(path, &info) == 0 else { throw SystemCall.failure("stat", path, errno, operation: operation) }
        var base = String(path.split(separator: "/").last ?? "image")
        for suffix in [".gz", ".zst", ".xz", ".tar", ".tgz"] where base.hasSuffix(suffix) { base = String(base.dropLast(suffix.count)) }
        let fallbackName = name ?? Self.referenceName(from: base)
        return try locked(operation) { () throws(BackendError) -> [ImageInfo] in
            var root = path
            var unpacked: String?
            defer { if let unpacked { LinuxSystem.removeTree(unpacked) } }
            if (info.st_mode & S_IFMT) == S_IFREG {
                // An archive: unpacked below tmp/ by the layer extractor (nothing can escape it).
                let dir = staging("load")
                guard mkdir(dir, 0o700) == 0 else { throw SystemCall.failure("mkdir", dir, errno, operation: operation) }
                unpacked = dir
                do throws(BackendError) {
                    _ = try LayerArchive.extract(path, into: dir)
                } catch {
                    throw BackendError(.unsupported, operation, "not an image archive: \(error.message)")
                }
                root = dir
            } else if (info.st_mode & S_IFMT) != S_IFDIR {
                throw BackendError(.unsupported, operation, "\(path) is neither a directory nor an archive")
            }
            // A refused load keeps nothing it stored: what it added that no image record names
            // goes (an earlier image of the same archive, committed, stays).
            let blobsBefore = Set(LinuxSystem.entries(of: blobsDir).map(\.name))
            let layersBefore = Set(LinuxSystem.entries(of: layersDir).map(\.name))
            do throws(BackendError) {
                if access(root + "/index.json", F_OK) == 0 {
                    return try loadLayout(root, fallbackName: fallbackName, operation: operation)
                }
                if access(root + "/manifest.json", F_OK) == 0 {
                    return try loadDockerArchive(root, operation: operation)
                }
            } catch {
                discardUnreferenced(blobsBefore: blobsBefore, layersBefore: layersBefore)
                throw error
            }
            throw BackendError(
                .unsupported, operation,
                "\(path) is neither an OCI image layout (index.json) nor a docker save archive (manifest.json)")
        }
    }

    /// Removes the blobs and layers that appeared since the snapshots and that no image record
    /// names (the caller holds the lock).
    func discardUnreferenced(blobsBefore: Set<String>, layersBefore: Set<String>) {
        var blobs = Set<String>()
        var layers = Set<String>()
        for entry in LinuxSystem.entries(of: imagesDir) where entry.name.hasSuffix(".json") {
            guard let image = image(id: "sha256:" + entry.name.dropLast(5)) else { continue }
            blobs.insert(String(image.id.dropFirst(7)))
            for layer in image.layers {
                blobs.insert(String(layer.blob.dropFirst(7)))
                layers.insert(layer.directory)
            }
        }
        for entry in LinuxSystem.entries(of: blobsDir) where !blobsBefore.contains(entry.name) && !blobs.contains(entry.name) {
            unlink(blobsDir + "/" + entry.name)
        }
        for entry in LinuxSystem.entries(of: layersDir) where !layersBefore.contains(entry.name) {
            let name = entry.name.hasSuffix(".json") ? String(entry.name.dropLast(5)) : entry.name
            if !layers.contains(name) { LinuxSystem.removeTree(layersDir + "/" + entry.name) }
        }
    }

    /// A name for images that come without one: lowercase, other characters as `-`.
    static func referenceName(from text: String) -> String {
        var out = ""
        for character in text.lowercased() {
            if character.isASCII && (character.isLetter || character.isNumber) {
                out.append(character)
            } else if !out.isEmpty && out.last != "-" {
                out.append("-")
            }
        }
        while out.last == "-" { out.removeLast() }
        return out.isEmpty ? "image" : out
    }

    /// A JSON document of at most `documentLimit` bytes below `root` (never through a symlink).
    func document(
        _ root: String, _ relative: String, _ what: String, operation: String
    ) throws(BackendError) -> (node: SpecNode, text: String) {
        let dirFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else { throw SystemCall.failure("open", root, errno, operation: operation) }
        defer { close(dirFD) }
        let fd = podimage_open_beneath(dirFD, relative, O_RDONLY, 0)
        guard fd >= 0 else { throw BackendError(.unsupported, operation, "\(what) \(relative): \(LinuxSystem.describe(errno))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw BackendError(.unsupported, operation, "\(what) \(relative) is not a regular file")
        }
        guard info.st_size <= Self.documentLimit else {
            throw BackendError(.unsupported, operation, "\(what) \(relative) is \(info.st_size) bytes (at most \(Self.documentLimit))")
        }
        let text = String(decoding: LinuxSystem.readAll(fd: fd), as: UTF8.self)
        do {
            return (try JSONReader.parse(text), text)
        } catch {
            throw BackendError(.unsupported, operation, "\(what) \(relative): \(error)")
        }
    }

    /// A blob of an OCI layout, by digest: its path below `root` (the digest checked as it is stored).
    func layoutBlob(_ root: String, _ digest: String, _ what: String, operation: String) throws(BackendError) -> String {
        guard digest.hasPrefix("sha256:"), Self.isHex(digest.dropFirst(7)) else {
            throw BackendError(.unsupported, operation, "\(what) has the digest \"\(digest)\" (sha256:<64 hex> expected)")
        }
        return "blobs/sha256/" + digest.dropFirst(7)
    }

    static let manifestTypes: Set<String> = [
        "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json",
    ]
    static let indexTypes: Set<String> = [
        "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
    ]

    func loadLayout(_ root: String, fallbackName: String, operation: String) throws(BackendError) -> [ImageInfo] {
        let index = try document(root, "index.json", "the index", operation: operation).node
        guard let manifests = index["manifests"]?.arrayValue, !manifests.isEmpty else {
            throw BackendError(.unsupported, operation, "index.json lists no manifests")
        }
        var loaded: [ImageInfo] = []
        for (i, descriptor) in manifests.enumerated() {
            let refName = descriptor["annotations"]?["org.opencontainers.image.ref.name"]?.stringValue
            var reference: String
            // A full reference (containerd, podman) or a bare tag (skopeo's oci:DIR:TAG).
            if let refName, refName.contains(":") || refName.contains("/") || refName.contains("@") {
                reference = refName
            } else if let refName, ImageReference.isTag(Substring(refName)) {
                reference = fallbackName + ":" + refName
            } else {
                reference = fallbackName + ":latest"
            }
            guard let parsed = try? ImageReference(parsing: reference) else {
                throw BackendError(.unsupported, operation, "manifests[\(i)]: the name \"\(reference)\" is not a reference")
            }
            reference = parsed.normalized
            let manifest = try resolveManifest(root, descriptor, "manifests[\(i)]", depth: 0, operation: operation)
            loaded.append(try loadManifest(root, manifest, reference: reference, where: "manifests[\(i)]", operation: operation))
        }
        return loaded
    }

    /// The image manifest a descriptor names, choosing this machine's platform in an index.
    func resolveManifest(
        _ root: String, _ descriptor: SpecNode, _ place: String, depth: Int, operation: String
    ) throws(BackendError) -> SpecNode {
        guard let digest = descriptor["digest"]?.stringValue else { throw BackendError(.unsupported, operation, "\(place) has no digest") }
        let relative = try layoutBlob(root, digest, place, operation: operation)
        try checkDigest(root + "/" + relative, digest, place, operation: operation)
        let node = try document(root, relative, place, operation: operation).node
        let mediaType = node["mediaType"]?.stringValue ?? descriptor["mediaType"]?.stringValue
        let isIndex = mediaType.map { Self.indexTypes.contains($0) } ?? (node["manifests"] != nil)
        guard isIndex else {
            if let mediaType, !Self.manifestTypes.contains(mediaType) {
                throw BackendError(.unsupported, operation, "\(place) has the media type \(mediaType), not an image manifest or index")
            }
            return node
        }
        guard depth < 4 else { throw BackendError(.unsupported, operation, "\(place): indexes nested deeper than 4") }
        let arch = Self.hostArchitecture
        let chosen = try Self.platformDescriptor(node, place: place, operation: operation)
        return try resolveManifest(root, chosen, place + " (linux/\(arch))", depth: depth + 1, operation: operation)
    }

    /// The entry of this machine's platform (linux/<arch>) in an index or manifest list; a
    /// failure lists the platforms the index has.
    static func platformDescriptor(_ index: SpecNode, place: String, operation: String) throws(BackendError) -> SpecNode {
        let arch = hostArchitecture
        let entries = index["manifests"]?.arrayValue ?? []
        if let chosen = entries.first(where: {
            $0["platform"]?["os"]?.stringValue == "linux" && $0["platform"]?["architecture"]?.stringValue == arch
        }) {
            return chosen
        }
        let platforms = entries.compactMap { e -> String? in
            guard let os = e["platform"]?["os"]?.stringValue, let a = e["platform"]?["architecture"]?.stringValue else { return nil }
            return os + "/" + a
        }
        throw BackendError(
            .unsupported, operation,
            "\(place): no manifest for linux/\(arch) (the index has \(platforms.isEmpty ? "none" : platforms.joined(separator: ", ")))")
    }

    func checkDigest(_ path: String, _ digest: String, _ place: String, operation: String) throws(BackendError) {
        let (actual, _) = try LayerArchive.digest(ofFile: path)
        guard actual == digest else { throw BackendError(.unsupported, operation, "\(place): \(digest) has the digest \(actual): refused") }
    }

    /// Stores the config and layers of an image manifest and tags the image.
    func loadManifest(
        _ root: String, _ manifest: SpecNode, reference: String, where place: String, operation: String
    ) throws(BackendError) -> ImageInfo {
        guard let configDigest = manifest["config"]?["digest"]?.stringValue, let layers = manifest["layers"]?.arrayValue else {
            throw BackendError(.unsupported, operation, "\(place): the manifest has no config or no layers")
        }
        let configPath = try layoutBlob(root, configDigest, place + " config", operation: operation)
        let (configNode, configText) = try document(root, configPath, place + " config", operation: operation)
        let diffIDs = configNode["rootfs"]?["diff_ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard diffIDs.count == layers.count else {
            throw BackendError(
                .unsupported, operation, "\(place): the config lists \(diffIDs.count) diff ids for \(layers.count) layers")
        }
        var stored: [Layer] = []
        for (i, layer) in layers.enumerated() {
            guard let digest = layer["digest"]?.stringValue else {
                throw BackendError(.unsupported, operation, "\(place) layers[\(i)] has no digest")
            }
            if let mediaType = layer["mediaType"]?.stringValue, mediaType.contains("nondistributable") || mediaType.contains("foreign") {
                throw BackendError(
                    .unsupported, operation, "\(place) layers[\(i)] is a foreign layer (\(mediaType)), which is not in the archive")
            }
            if let existing = self.layer(diffID: diffIDs[i]) {
                stored.append(existing)
                continue
            }
            let relative = try layoutBlob(root, digest, "\(place) layers[\(i)]", operation: operation)
            try addBlob(file: root + "/" + relative, expected: digest, operation: operation)
            stored.append(try unpackLayer(blob: digest, diffID: diffIDs[i], operation: operation))
        }
        guard SHA256.digest(of: configText) == configDigest else {
            throw BackendError(.unsupported, operation, "\(place): the config \(configDigest) has another digest: refused")
        }
        let image = try commit(config: configText, layers: stored, references: [reference], operation: operation)
        return info(reference, image)
    }

    /// `docker save`: manifest.json lists each image's config, tags and layer tars.
    func loadDockerArchive(_ root: String, operation: String) throws(BackendError) -> [ImageInfo] {
        let manifest = try document(root, "manifest.json", "manifest.json", operation: operation).node
        guard let images = manifest.arrayValue, !images.isEmpty else {
            throw BackendError(.unsupported, operation, "manifest.json lists no images")
        }
        var loaded: [ImageInfo] = []
        for (i, entry) in images.enumerated() {
            let place = "manifest.json[\(i)]"
            guard let configFile = entry["Config"]?.stringValue, let layerFiles = entry["Layers"]?.arrayValue?.compactMap(\.stringValue)
            else { throw BackendError(.unsupported, operation, "\(place) has no Config or no Layers") }
            let (configNode, configText) = try document(root, configFile, place + " Config", operation: operation)
            let diffIDs = configNode["rootfs"]?["diff_ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
            guard diffIDs.count == layerFiles.count else {
                throw BackendError(
                    .unsupported, operation, "\(place): the config lists \(diffIDs.count) diff ids for \(layerFiles.count) layers")
            }
            var stored: [Layer] = []
            for (j, file) in layerFiles.enumerated() {
                if let existing = self.layer(diffID: diffIDs[j]) {
                    stored.append(existing)
                    continue
                }
                // Opened beneath the archive's root: a Layers entry cannot name a file outside it.
                let dirFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                let fd = dirFD >= 0 ? podimage_open_beneath(dirFD, file, O_RDONLY, 0) : -1
                let code = errno
                if dirFD >= 0 { close(dirFD) }
                guard fd >= 0 else { throw BackendError(.unsupported, operation, "\(place) layer \(file): \(LinuxSystem.describe(code))") }
                close(fd)
                let blob = try addBlob(file: root + "/" + file, expected: nil, operation: operation)
                stored.append(try unpackLayer(blob: blob.digest, diffID: diffIDs[j], operation: operation))
            }
            var tags = entry["RepoTags"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if tags.isEmpty { tags = [Self.referenceName(from: "loaded-\(i)") + ":latest"] }
            var references: [String] = []
            for tag in tags {
                guard let parsed = try? ImageReference(parsing: tag) else {
                    throw BackendError(.unsupported, operation, "\(place): the tag \"\(tag)\" is not a reference")
                }
                references.append(parsed.normalized)
            }
            let image = try commit(config: configText, layers: stored, references: references, operation: operation)
            loaded.append(contentsOf: references.map { info($0, image) })
        }
        return loaded
    }
}
