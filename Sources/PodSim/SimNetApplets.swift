import PodKit

/// Network applets: busybox `httpd` (static files) and `wget`, with busybox 1.35's messages.
enum SimNetApplets {
    static let notFoundPage =
        "<HTML><HEAD><TITLE>404 Not Found</TITLE></HEAD>\n<BODY><H1>404 Not Found</H1>\n"
        + "The requested URL was not found\n</BODY></HTML>\n"

    /// `httpd [-f] [-p [ADDR:]PORT] [-h HOME]`: serves the files under HOME. Without `-f` it
    /// daemonizes: a child serves, the parent exits 0.
    static func httpd(_ ctx: SimContext) -> SimStep {
        var args = Array(ctx.args.dropFirst())
        var foreground = false
        var port = 80
        var home = "."
        while !args.isEmpty {
            let arg = args.removeFirst()
            switch arg {
            case "-f": foreground = true
            case "-p", "-h":
                guard !args.isEmpty else {
                    ctx.writeError("httpd: option requires an argument -- '\(arg.dropFirst())'\n")
                    return SimApplets.usage(ctx, "httpd [-ifvv] [-c CONFFILE] [-p [IP:]PORT] [-u USER[:GRP]] [-r REALM] [-h HOME]")
                }
                let value = args.removeFirst()
                if arg == "-h" {
                    home = value
                } else {
                    let portText = value.split(separator: ":").last.map(String.init) ?? value
                    guard let parsed = Int(portText), (1...65535).contains(parsed) else {
                        ctx.writeError("httpd: invalid number '\(value)'\n")
                        return .exit(1)
                    }
                    port = parsed
                }
            default:
                ctx.writeError("httpd: invalid option -- '\(arg.dropFirst())'\n")
                return SimApplets.usage(ctx, "httpd [-ifvv] [-c CONFFILE] [-p [IP:]PORT] [-u USER[:GRP]] [-r REALM] [-h HOME]")
            }
        }
        if !foreground {
            switch ctx.spawn(ctx.args + ["-f"]) {
            case .success: return .exit(0)
            case .failure(let error):
                ctx.writeError("httpd: fork: \(error)\n")
                return .exit(1)
            }
        }
        let root = ctx.absolutePath(home)
        if let error = ctx.listen(port, { ctx, request in serve(ctx, request, root: root) }) {
            ctx.writeError("httpd: bind: \(error)\n")
            return .exit(1)
        }
        return .waitForever
    }

    static func serve(_ ctx: SimContext, _ request: SimHTTPRequest, root: String) -> SimStep {
        let path = request.path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        let target = root + path
        switch ctx.isDirectory(target) {
        case .some(true):
            guard path.hasSuffix("/") else {
                return .respond(SimHTTPResponse(status: 302, headers: ["Location": path + "/"]))
            }
            if case .success(let body) = ctx.read(target + "index.html") { return .respond(SimHTTPResponse(body: body)) }
        case .some(false):
            if case .success(let body) = ctx.read(target) { return .respond(SimHTTPResponse(body: body)) }
        case .none:
            break
        }
        return .respond(SimHTTPResponse(status: 404, headers: ["Content-type": "text/html"], body: notFoundPage))
    }

    /// `wget [-q] [-O FILE|-] URL`.
    static func wget(_ ctx: SimContext) -> SimStep {
        var args = Array(ctx.args.dropFirst())
        var quiet = false
        var output: String?
        var url: String?
        let synopsis = "wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]"
        while !args.isEmpty {
            let arg = args.removeFirst()
            guard arg.hasPrefix("-"), arg.count > 1 else {
                url = arg
                continue
            }
            var flags = Array(arg.dropFirst())
            while !flags.isEmpty {
                let flag = flags.removeFirst()
                switch flag {
                case "q": quiet = true
                case "O":
                    if !flags.isEmpty {
                        output = String(flags)
                        flags = []
                    } else if !args.isEmpty {
                        output = args.removeFirst()
                    } else {
                        ctx.writeError("wget: option requires an argument -- 'O'\n")
                        return SimApplets.usage(ctx, synopsis)
                    }
                case "T":
                    // Debian's busybox 1.35 wget segfaults on -T (exit 139, measured); so does this one.
                    return .exit(139)
                default:
                    ctx.writeError("wget: invalid option -- '\(flag)'\n")
                    return SimApplets.usage(ctx, synopsis)
                }
            }
        }
        guard let url else { return SimApplets.usage(ctx, synopsis) }
        return get(ctx, url: url, redirects: 0) { ctx, response, finalURL in
            let body = response.body
            let name =
                output
                ?? {
                    let last = SimURL(finalURL)?.path.split(separator: "/").last.map(String.init) ?? ""
                    return last.isEmpty ? "index.html" : last
                }()
            let address = SimURL(finalURL).map { "\($0.host):\($0.port) (\($0.address):\($0.port))" } ?? finalURL
            if name == "-" {
                if !quiet {
                    ctx.writeError("Connecting to \(address)\nwriting to stdout\n")
                }
                ctx.write(body)
                if !quiet {
                    ctx.writeError(
                        "-                    100% |********************************| "
                            + String(body.utf8.count).leftPadded(to: 5, with: " ") + "  0:00:00 ETA\nwritten to stdout\n")
                }
                return .exit(0)
            }
            if !quiet { ctx.writeError("Connecting to \(address)\nsaving to '\(name)'\n") }
            if let error = ctx.writeFile(name, body) {
                ctx.writeError("wget: can't open '\(name)': \(error)\n")
                return .exit(1)
            }
            if !quiet { ctx.writeError("'\(name)' saved\n") }
            return .exit(0)
        }
    }

    /// GET with redirects followed; errors worded as busybox wget words them.
    static func get(
        _ ctx: SimContext, url: String, redirects: Int,
        then: @escaping (SimContext, SimHTTPResponse, String) -> SimStep
    ) -> SimStep {
        guard let parsed = SimURL(url) else {
            ctx.writeError("wget: not an http or ftp url: \(url)\n")
            return .exit(1)
        }
        return .fetch(url, SimHTTPRequest(method: "GET", path: parsed.path, headers: ["User-Agent": "Wget"])) { ctx, result in
            switch result {
            case .failure(.badAddress(let host)):
                ctx.writeError("wget: bad address '\(host)'\n")
                return .exit(1)
            case .failure(let error):
                switch error {
                case .connectionRefused, .unreachable:
                    ctx.writeError("wget: can't connect to remote host (\(parsed.address)): \(error)\n")
                default:
                    ctx.writeError("wget: error getting response: \(error)\n")
                }
                return .exit(1)
            case .success(let response):
                if (301...308).contains(response.status), let location = response.headers["Location"], redirects < 20 {
                    let next = location.hasPrefix("http://") ? location : "http://\(parsed.host):\(parsed.port)\(location)"
                    return get(ctx, url: next, redirects: redirects + 1, then: then)
                }
                guard response.status < 400 else {
                    ctx.writeError("wget: server returned error: \(response.statusLine)\n")
                    return .exit(1)
                }
                return then(ctx, response, url)
            }
        }
    }
}
