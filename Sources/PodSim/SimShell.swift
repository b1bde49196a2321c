import PodKit

/// The simulated `sh -c SCRIPT`, a small ash: simple commands joined by `;`, `&&` and `||`;
/// quoting with '...', "..." and backslash; `$VAR`, `${VAR}`, `$?`, `$$`, `$0`-`$9`, `$#` and
/// `$(command)`; redirections `>`, `>>`, `2>`, `2>>`, `2>&1`, `>&2` and `<`; `NAME=value`
/// assignments (alone, or before a command for its environment); the builtins `exit [N]`, `:`,
/// `cd`, `export`, `echo`, `pwd`, `test`/`[` and `kill` (builtins in ash too, so their errors
/// read "sh: ...").
/// Each command runs as a child process the shell waits for. Other syntax (pipes, background
/// jobs, subshells, backquotes) is refused with a message naming it.
enum SimShell {
    enum Connector { case sequence, and, or }

    enum Part {
        case literal(String, quoted: Bool)
        case variable(String, quoted: Bool)
        case command(String, quoted: Bool)
    }

    typealias Word = [Part]

    struct Redirection {
        enum Kind { case output, append, input, errorOutput, errorAppend, errorToOutput, outputToError }
        var kind: Kind
        var target: Word
    }

    struct Command {
        var connector: Connector
        var words: [Word] = []
        var redirections: [Redirection] = []
    }

    struct State {
        var variables: [String: String]
        var exported: [EnvVar]
        var status: Int32 = 0
    }

    struct SyntaxError: Error {
        let message: String
    }

    static let unsupported = "(the simulated sh runs simple commands with ;, &&, ||, redirections, $VAR and $(...))"

    static func main(_ ctx: SimContext) -> SimStep {
        let args = ctx.args
        guard args.count >= 2, args[1] == "-c" else {
            ctx.writeError("sh: the simulated sh runs only `sh -c SCRIPT`\n")
            return .exit(2)
        }
        guard args.count >= 3 else {
            ctx.writeError("sh: -c requires an argument\n")
            return .exit(2)
        }
        switch parse(args[2]) {
        case .failure(let error):
            ctx.writeError("sh: \(error.message)\n")
            return .exit(2)
        case .success(let commands):
            var variables: [String: String] = [:]
            for variable in ctx.environment { variables[variable.name] = variable.value }
            // sh -c SCRIPT [NAME [ARG...]]: $0 is NAME, then $1...
            let positional = Array(args.dropFirst(3))
            variables["0"] = positional.first ?? "sh"
            for (i, value) in positional.dropFirst().enumerated() { variables[String(i + 1)] = value }
            variables["#"] = String(max(0, positional.count - 1))
            return run(ctx, commands, 0, State(variables: variables, exported: ctx.environment))
        }
    }

    // MARK: Running

    static func run(_ ctx: SimContext, _ commands: [Command], _ index: Int, _ state: State) -> SimStep {
        guard index < commands.count else { return .exit(state.status) }
        let command = commands[index]
        if command.connector == .and && state.status != 0 || command.connector == .or && state.status == 0
            || command.words.isEmpty && command.redirections.isEmpty
        {
            return run(ctx, commands, index + 1, state)
        }
        return expand(ctx, state, command.words, 0, []) { ctx, state, words in
            expandRedirections(ctx, state, command.redirections, 0, []) { ctx, state, targets in
                execute(
                    ctx, state, words, zip(command.redirections, targets).map { ($0.kind, $1) },
                    isLast: index == commands.count - 1
                ) { ctx, state in
                    run(ctx, commands, index + 1, state)
                }
            }
        }
    }

    /// Runs one expanded command and continues with the state after it.
    static func execute(
        _ ctx: SimContext, _ state: State, _ words: [String], _ redirections: [(Redirection.Kind, String)],
        isLast: Bool = false, then: @escaping (SimContext, State) -> SimStep
    ) -> SimStep {
        var state = state
        var words = words
        var commandEnv: [EnvVar] = []
        while let first = words.first, let eq = first.firstIndex(of: "="), isName(first[..<eq]) {
            commandEnv.append(EnvVar(name: String(first[..<eq]), value: String(first[first.index(after: eq)...])))
            words.removeFirst()
        }
        if words.isEmpty {
            for variable in commandEnv { state.variables[variable.name] = variable.value }
            state.status = 0
            return then(ctx, state)
        }

        // Redirections: open the files first, as the shell does before running anything.
        // Without `<`, a command reads the shell's own standard input (every reader gets all of
        // it here; on Linux the first reader consumes it).
        var stdin = ctx.stdin
        var stdoutFile: String?
        var stderrFile: String?
        var errorsToOutput = false
        var outputsToError = false
        for (kind, target) in redirections {
            switch kind {
            case .input:
                switch ctx.read(target) {
                case .success(let content): stdin = content
                case .failure(let error):
                    ctx.writeError("sh: can't open \(target): \(error == .ENOENT ? "no such file" : error.description)\n")
                    state.status = 1
                    return then(ctx, state)
                }
            case .output, .append, .errorOutput, .errorAppend:
                let truncate = kind == .output || kind == .errorOutput
                if let error = ctx.writeFile(target, "", append: !truncate) {
                    let reason = error == .ENOENT ? "nonexistent directory" : error.description
                    ctx.writeError("sh: can't create \(target): \(reason)\n")
                    state.status = 1
                    return then(ctx, state)
                }
                if kind == .output || kind == .append { stdoutFile = target } else { stderrFile = target }
            case .errorToOutput:
                errorsToOutput = true
                stderrFile = stdoutFile
            case .outputToError:
                outputsToError = true
            }
        }
        let output: SimOutput?
        if stdoutFile != nil || stderrFile != nil || errorsToOutput || outputsToError {
            let sink = SimOutput()
            let shell = ctx
            let writeOut: (SimContext, String) -> SimErrno? = { writer, text in
                if let file = stdoutFile { return writer.writeFile(file, text, append: true) }
                if outputsToError {
                    if let file = stderrFile { return writer.writeFile(file, text, append: true) }
                    return shell.writeError(text)
                }
                return shell.write(text)
            }
            sink.fileWriter = writeOut
            if let file = stderrFile {
                sink.errorWriter = { writer, text in writer.writeFile(file, text, append: true) }
            } else if errorsToOutput {
                sink.errorWriter = writeOut
            } else {
                sink.errorWriter = { _, text in shell.writeError(text) }
            }
            output = sink
        } else {
            output = nil
        }
        let report: (String) -> Void = { text in
            if let output { output.write(text, error: true, from: ctx) } else { ctx.writeError(text) }
        }
        /// A builtin's status: 0, or `code` once its error message is reported.
        let status: (String?, Int32) -> Int32 = { message, code in
            guard let message else { return 0 }
            report(message)
            return code
        }

        switch words[0] {
        case "exit":
            guard words.count > 1 else { return .exit(state.status) }
            guard let code = Int32(words[1]) else {
                report("sh: exit: line 0: Illegal number: \(words[1])\n")
                return .exit(2)
            }
            return .exit(code & 0xff)
        case ":":
            state.status = 0
            return then(ctx, state)
        case "echo":
            // A builtin in ash, so a failed write is the shell's: "sh: write error: ...".
            let text = SimApplets.echoText(words.dropFirst())
            let error = output.map { $0.write(text, error: false, from: ctx) } ?? ctx.write(text)
            state.status = status(ctx.process.isAlive ? error.map { "sh: write error: \($0)\n" } : nil, 1)
            return then(ctx, state)
        case "pwd":
            let text = ctx.absolutePath(".") + "\n"
            _ = output.map { $0.write(text, error: false, from: ctx) } ?? ctx.write(text)
            state.status = 0
            return then(ctx, state)
        case "test", "[":
            switch SimApplets.test(ctx, words) {
            case .success(let truth): state.status = truth ? 0 : 1
            case .failure(let failure):
                report("sh: \(failure.message)\n")
                state.status = 2
            }
            return then(ctx, state)
        case "kill":
            // A builtin in ash: its errors read "sh: ...", and it may end the shell itself.
            state.status = SimApplets.killCommand(ctx, Array(words.dropFirst())) { report("sh: " + $0) }
            return then(ctx, state)
        case "cd":
            let target = words.count > 1 ? words[1] : (state.variables["HOME"] ?? "/")
            state.status = status(ctx.changeDirectory(target).map { "sh: cd: line 0: can't cd to \(target): \($0)\n" }, 2)
            return then(ctx, state)
        case "export":
            for word in words.dropFirst() {
                let name: String
                let value: String
                if let eq = word.firstIndex(of: "=") {
                    name = String(word[..<eq])
                    value = String(word[word.index(after: eq)...])
                } else {
                    name = word
                    value = state.variables[word] ?? ""
                }
                state.variables[name] = value
                state.exported.removeAll { $0.name == name }
                state.exported.append(EnvVar(name: name, value: value))
            }
            state.status = 0
            return then(ctx, state)
        default:
            break
        }
        guard ctx.programExists(words[0]) else {
            report("sh: \(words[0]): not found\n")
            state.status = 127
            return then(ctx, state)
        }
        let env = state.exported.filter { variable in !commandEnv.contains { $0.name == variable.name } } + commandEnv
        // ash runs the last command of `sh -c` in its own process (no fork): `ps` shows the
        // command, not the shell, and signals reach it directly.
        if isLast && redirections.isEmpty { return .exec(words, env: env) }
        switch ctx.spawn(words, env: env, stdin: stdin, output: output) {
        case .failure(let error):
            // An error ash raises: a non-interactive shell ends with 2.
            report("sh: can't fork: \(error)\n")
            return .exit(2)
        case .success(let pid):
            return .waitChild(pid) { ctx, exit in
                var after = state
                after.status = exit?.code ?? 127
                return then(ctx, after)
            }
        }
    }

    // MARK: Expansion

    /// Expands words into fields, running `$(...)` substitutions as child shells.
    static func expand(
        _ ctx: SimContext, _ state: State, _ words: [Word], _ index: Int, _ fields: [String],
        then: @escaping (SimContext, State, [String]) -> SimStep
    ) -> SimStep {
        guard index < words.count else { return then(ctx, state, fields) }
        return expandWord(ctx, state, words[index], 0, Fields()) { ctx, state, word in
            expand(ctx, state, words, index + 1, fields + word.result, then: then)
        }
    }

    /// One word's fields: quoted text never splits, unquoted expansions split on blanks.
    struct Fields {
        var done: [String] = []
        var current = ""
        var hasCurrent = false

        mutating func add(_ text: String, split: Bool) {
            guard split else {
                current += text
                hasCurrent = true
                return
            }
            var first = true
            for piece in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
                if !first {
                    if hasCurrent { done.append(current) }
                    current = ""
                    hasCurrent = false
                }
                if !piece.isEmpty {
                    current += piece
                    hasCurrent = true
                }
                first = false
            }
        }

        var result: [String] { hasCurrent ? done + [current] : done }
    }

    static func expandWord(
        _ ctx: SimContext, _ state: State, _ word: Word, _ index: Int, _ fields: Fields,
        then: @escaping (SimContext, State, Fields) -> SimStep
    ) -> SimStep {
        guard index < word.count else { return then(ctx, state, fields) }
        var fields = fields
        switch word[index] {
        case .literal(let text, let quoted):
            if quoted { fields.hasCurrent = true }
            fields.current += text
            if !text.isEmpty { fields.hasCurrent = true }
            return expandWord(ctx, state, word, index + 1, fields, then: then)
        case .variable(let name, let quoted):
            let value = name == "?" ? String(state.status) : name == "$" ? String(ctx.pid) : state.variables[name] ?? ""
            if quoted { fields.hasCurrent = true }
            fields.add(value, split: !quoted)
            return expandWord(ctx, state, word, index + 1, fields, then: then)
        case .command(let script, let quoted):
            let capture = SimOutput()
            capture.errorWriter = { _, text in ctx.writeError(text) }
            switch ctx.spawn(["sh", "-c", script], env: state.exported, output: capture) {
            case .failure(let error):
                ctx.writeError("sh: can't fork: \(error)\n")
                return expandWord(ctx, state, word, index + 1, fields, then: then)
            case .success(let pid):
                return .waitChild(pid) { ctx, exit in
                    var state = state
                    state.status = exit?.code ?? 127
                    var text = capture.stdout
                    while text.hasSuffix("\n") { text.removeLast() }
                    if quoted { fields.hasCurrent = true }
                    fields.add(text, split: !quoted)
                    return expandWord(ctx, state, word, index + 1, fields, then: then)
                }
            }
        }
    }

    static func expandRedirections(
        _ ctx: SimContext, _ state: State, _ redirections: [Redirection], _ index: Int,
        _ targets: [String], then: @escaping (SimContext, State, [String]) -> SimStep
    ) -> SimStep {
        guard index < redirections.count else { return then(ctx, state, targets) }
        return expandWord(ctx, state, redirections[index].target, 0, Fields()) { ctx, state, fields in
            expandRedirections(ctx, state, redirections, index + 1, targets + [fields.result.joined(separator: " ")], then: then)
        }
    }

    static func isName(_ text: Substring) -> Bool {
        guard let first = text.first, first == "_" || first.isLetter && first.isASCII else { return false }
        return text.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }

    // MARK: Parsing

    static func parse(_ script: String) -> Result<[Command], SyntaxError> {
        var parser = Parser(chars: Array(script))
        do {
            return .success(try parser.commands())
        } catch {
            return .failure(error)
        }
    }

    struct Parser {
        let chars: [Character]
        var i = 0

        init(chars: [Character]) { self.chars = chars }

        func peek(_ offset: Int = 0) -> Character? { i + offset < chars.count ? chars[i + offset] : nil }

        mutating func commands() throws(SyntaxError) -> [Command] {
            var commands: [Command] = []
            var command = Command(connector: .sequence)
            var word: Word = []
            var inWord = false
            var pendingRedirection: Redirection.Kind?

            func finishWord() throws(SyntaxError) {
                guard inWord else { return }
                if let kind = pendingRedirection {
                    command.redirections.append(Redirection(kind: kind, target: word))
                    pendingRedirection = nil
                } else {
                    command.words.append(word)
                }
                word = []
                inWord = false
            }
            func finishCommand(_ next: Connector) throws(SyntaxError) {
                try finishWord()
                if pendingRedirection != nil { throw SyntaxError(message: "syntax error: unexpected newline") }
                if (next == .and || next == .or) && command.words.isEmpty && command.redirections.isEmpty {
                    throw SyntaxError(message: "syntax error: unexpected \"\(next == .and ? "&&" : "||")\"")
                }
                commands.append(command)
                command = Command(connector: next)
            }

            while let c = peek() {
                switch c {
                case " ", "\t":
                    try finishWord()
                    i += 1
                case "\n", ";":
                    try finishCommand(.sequence)
                    i += 1
                case "&" where peek(1) == "&":
                    try finishCommand(.and)
                    i += 2
                case "|" where peek(1) == "|":
                    try finishCommand(.or)
                    i += 2
                case "#" where !inWord:
                    while let next = peek(), next != "\n" { i += 1 }
                case ">", "<":
                    var kind: Redirection.Kind = c == "<" ? .input : .output
                    if inWord, word.count == 1, case .literal("2", quoted: false) = word[0] {
                        word = []
                        inWord = false
                        kind = .errorOutput
                    } else if inWord, word.count == 1, case .literal("1", quoted: false) = word[0], c == ">" {
                        word = []
                        inWord = false
                    } else {
                        try finishWord()
                    }
                    i += 1
                    if c == ">" && peek() == ">" {
                        kind = kind == .errorOutput ? .errorAppend : .append
                        i += 1
                    } else if c == ">" && kind == .output && peek() == "&" && peek(1) == "2" {
                        command.redirections.append(Redirection(kind: .outputToError, target: []))
                        i += 2
                        continue
                    } else if c == ">" && kind == .errorOutput && peek() == "&" && peek(1) == "1" {
                        command.redirections.append(Redirection(kind: .errorToOutput, target: []))
                        i += 2
                        continue
                    }
                    pendingRedirection = kind
                case "'":
                    i += 1
                    var text = ""
                    while let next = peek(), next != "'" {
                        text.append(next)
                        i += 1
                    }
                    guard peek() == "'" else { throw SyntaxError(message: "syntax error: unterminated quoted string") }
                    i += 1
                    word.append(.literal(text, quoted: true))
                    inWord = true
                case "\"":
                    i += 1
                    try doubleQuoted(into: &word)
                    inWord = true
                case "\\":
                    if let next = peek(1), next != "\n" { word.append(.literal(String(next), quoted: true)) }
                    inWord = true
                    i += 2
                case "$":
                    try dollar(into: &word, quoted: false)
                    inWord = true
                case "|", "&", "`", "(", ")":
                    throw SyntaxError(message: "unsupported syntax: '\(c)' \(unsupported)")
                default:
                    word.append(.literal(String(c), quoted: false))
                    inWord = true
                    i += 1
                }
            }
            try finishCommand(.sequence)
            return commands
        }

        mutating func doubleQuoted(into word: inout Word) throws(SyntaxError) {
            var text = ""
            while let c = peek(), c != "\"" {
                if c == "\\", let next = peek(1), "\"\\$`".contains(next) {
                    text.append(next)
                    i += 2
                } else if c == "$" {
                    word.append(.literal(text, quoted: true))
                    text = ""
                    try dollar(into: &word, quoted: true)
                } else if c == "`" {
                    throw SyntaxError(message: "unsupported syntax: '`' \(unsupported)")
                } else {
                    text.append(c)
                    i += 1
                }
            }
            guard peek() == "\"" else { throw SyntaxError(message: "syntax error: unterminated quoted string") }
            i += 1
            word.append(.literal(text, quoted: true))
        }

        /// `$NAME`, `${NAME}`, `$?`, `$$` or `$(script)`; a lone `$` is literal.
        mutating func dollar(into word: inout Word, quoted: Bool) throws(SyntaxError) {
            i += 1
            guard let c = peek() else {
                word.append(.literal("$", quoted: quoted))
                return
            }
            if c == "?" || c == "$" || c == "#" || c.isASCII && c.isNumber {
                i += 1
                word.append(.variable(String(c), quoted: quoted))
            } else if c == "{" {
                i += 1
                var name = ""
                while let next = peek(), next != "}" {
                    name.append(next)
                    i += 1
                }
                guard peek() == "}", isName(Substring(name)) else { throw SyntaxError(message: "syntax error: bad substitution") }
                i += 1
                word.append(.variable(name, quoted: quoted))
            } else if c == "(" {
                i += 1
                var depth = 1
                var script = ""
                while let next = peek() {
                    if next == "(" { depth += 1 }
                    if next == ")" {
                        depth -= 1
                        if depth == 0 { break }
                    }
                    script.append(next)
                    i += 1
                }
                guard peek() == ")" else { throw SyntaxError(message: "syntax error: unterminated $(") }
                i += 1
                word.append(.command(script, quoted: quoted))
            } else if c == "_" || c.isASCII && c.isLetter {
                var name = ""
                while let next = peek(), next == "_" || next.isASCII && (next.isLetter || next.isNumber) {
                    name.append(next)
                    i += 1
                }
                word.append(.variable(name, quoted: quoted))
            } else {
                word.append(.literal("$", quoted: quoted))
            }
        }
    }
}
