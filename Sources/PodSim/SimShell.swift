import PodKit

/// The simulated `sh -c SCRIPT`, a small ash: simple commands joined by `;`, `&&` and `||`;
/// quoting with '...', "..." and backslash; `$VAR`, `${VAR}`, `$?`, `$$`, `$0`-`$9`, `$#` and
/// `$(command)`; redirections `>`, `>>`, `2>`, `2>>`, `2>&1`, `>&2` and `<`; `NAME=value`
/// assignments (alone, or before a command for its environment); the builtins `exit [N]`, `:`,
/// `cd`, `export`, `echo`, `pwd`, `test`/`[`, `kill` and `exec` (builtins in ash too, so their errors
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

    /// The deepest `$(...)` nesting the simulated sh takes (ash has no fixed limit; each level
    /// is a process, and each parses the text inside it again).
    static let maxNesting = 1000

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

    /// Runs `commands[index...]` until one must wait (a child, a substitution) or the script
    /// ends. Commands that finish at once (builtins, assignments, skipped ones) are taken in this
    /// loop, and a wait's continuation comes back here from the kernel's own loop, so the stack
    /// does not grow with the length of the script.
    static func run(_ ctx: SimContext, _ commands: [Command], _ index: Int, _ state: State) -> SimStep {
        var index = index
        var state = state
        while index < commands.count {
            let command = commands[index]
            let skipped = command.connector == .and && state.status != 0 || command.connector == .or && state.status == 0
            if !skipped && !(command.words.isEmpty && command.redirections.isEmpty) {
                let expansion = Expansion(command.words + command.redirections.map(\.target))
                if let step = proceed(ctx, commands, index, expansion, &state) { return step }
            }
            index += 1
        }
        return .exit(state.status)
    }

    /// Expands and executes `commands[index]`: nil when it finished at once (`state` is the state
    /// after it), or the step to wait on, whose continuation carries on with the rest.
    static func proceed(
        _ ctx: SimContext, _ commands: [Command], _ index: Int, _ expansion: Expansion, _ state: inout State
    ) -> SimStep? {
        let resume: (SimContext, State) -> SimStep = { ctx, state in
            var state = state
            if let step = proceed(ctx, commands, index, expansion, &state) { return step }
            return run(ctx, commands, index + 1, state)
        }
        if let step = expansion.advance(ctx, &state, resume: resume) { return step }
        let command = commands[index]
        let words = expansion.expanded.prefix(command.words.count).flatMap { $0 }
        let targets = expansion.expanded.dropFirst(command.words.count).map { $0.joined(separator: " ") }
        return execute(
            ctx, &state, words, zip(command.redirections, targets).map { ($0.kind, $1) }, isLast: index == commands.count - 1
        ) { ctx, state in
            run(ctx, commands, index + 1, state)
        }
    }

    /// Runs one expanded command and continues with the state after it.
    /// Runs one expanded command: nil when it finished at once (`state` updated), or the step
    /// to wait on, whose continuation goes on with `then`.
    static func execute(
        _ ctx: SimContext, _ state: inout State, _ words: [String], _ redirections: [(Redirection.Kind, String)],
        isLast: Bool = false, then: @escaping (SimContext, State) -> SimStep
    ) -> SimStep? {
        var words = words
        var commandEnv: [EnvVar] = []
        while let first = words.first, let eq = first.firstIndex(of: "="), isName(first[..<eq]) {
            commandEnv.append(EnvVar(name: String(first[..<eq]), value: String(first[first.index(after: eq)...])))
            words.removeFirst()
        }
        if words.isEmpty {
            for variable in commandEnv { state.variables[variable.name] = variable.value }
            state.status = 0
            return nil
        }
        // `exec CMD...` (a builtin in ash): CMD replaces the shell, which runs nothing after it;
        // `exec` alone does nothing here (it would only apply its redirections to the shell).
        var replacesShell = false
        if words[0] == "exec" {
            words.removeFirst()
            if words.isEmpty {
                state.status = 0
                return nil
            }
            replacesShell = true
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
                    return nil
                }
            case .output, .append, .errorOutput, .errorAppend:
                let truncate = kind == .output || kind == .errorOutput
                if let error = ctx.writeFile(target, "", append: !truncate) {
                    let reason = error == .ENOENT ? "nonexistent directory" : error.description
                    ctx.writeError("sh: can't create \(target): \(reason)\n")
                    state.status = 1
                    return nil
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

        switch replacesShell ? "" : words[0] {
        case "exit":
            guard words.count > 1 else { return .exit(state.status) }
            guard let code = Int32(words[1]) else {
                report("sh: exit: line 0: Illegal number: \(words[1])\n")
                return .exit(2)
            }
            return .exit(code & 0xff)
        case ":":
            state.status = 0
            return nil
        case "echo":
            // A builtin in ash, so a failed write is the shell's: "sh: write error: ...".
            let text = SimApplets.echoText(words.dropFirst())
            let error = output.map { $0.write(text, error: false, from: ctx) } ?? ctx.write(text)
            state.status = status(ctx.process.isAlive ? error.map { "sh: write error: \($0)\n" } : nil, 1)
            return nil
        case "pwd":
            let text = ctx.absolutePath(".") + "\n"
            _ = output.map { $0.write(text, error: false, from: ctx) } ?? ctx.write(text)
            state.status = 0
            return nil
        case "test", "[":
            switch SimApplets.test(ctx, words) {
            case .success(let truth): state.status = truth ? 0 : 1
            case .failure(let failure):
                report("sh: \(failure.message)\n")
                state.status = 2
            }
            return nil
        case "kill":
            // A builtin in ash: its errors read "sh: ...", and it may end the shell itself.
            state.status = SimApplets.killCommand(ctx, Array(words.dropFirst())) { report("sh: " + $0) }
            return nil
        case "cd":
            let target = words.count > 1 ? words[1] : (state.variables["HOME"] ?? "/")
            state.status = status(ctx.changeDirectory(target).map { "sh: cd: line 0: can't cd to \(target): \($0)\n" }, 2)
            return nil
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
            return nil
        default:
            break
        }
        guard ctx.programExists(words[0]) else {
            if replacesShell {
                report("sh: exec: line 0: \(words[0]): not found\n")
                return .exit(127)
            }
            report("sh: \(words[0]): not found\n")
            state.status = 127
            return nil
        }
        let env = state.exported.filter { variable in !commandEnv.contains { $0.name == variable.name } } + commandEnv
        do {
            try SimKernel.checkArgumentSizes(words, env)
        } catch {
            // execve's E2BIG, as ash reports a failed exec.
            report("sh: \(words[0]): \(error)\n")
            if replacesShell { return .exit(126) }
            state.status = 126
            return nil
        }
        // ash runs the last command of `sh -c` in its own process (no fork): `ps` shows the
        // command, not the shell, and signals reach it directly. So does `exec`.
        if (isLast || replacesShell) && redirections.isEmpty { return .exec(words, env: env) }
        switch ctx.spawn(words, env: env, stdin: stdin, output: output) {
        case .failure(let error):
            // An error ash raises: a non-interactive shell ends with 2.
            report("sh: can't fork: \(error)\n")
            return .exit(2)
        case .success(let pid):
            let before = state
            return .waitChild(pid) { ctx, exit in
                // An exec with redirections runs as a child here; the shell ends with it.
                if replacesShell { return .exit(exit?.code ?? 127) }
                var after = before
                after.status = exit?.code ?? 127
                return then(ctx, after)
            }
        }
    }

    // MARK: Expansion

    /// The words of one command expanded into fields, one word after another in a loop; a
    /// `$(...)` substitution runs as a child shell, and the expansion waits for it and resumes
    /// where it stopped.
    final class Expansion {
        let words: [Word]
        var word = 0
        var part = 0
        var fields = Fields()
        /// Each word's fields, once expanded.
        var expanded: [[String]] = []

        init(_ words: [Word]) { self.words = words }

        /// Expands until every word is done (nil) or a substitution must be waited for: then the
        /// step, whose continuation records the output and calls `resume`.
        func advance(_ ctx: SimContext, _ state: inout State, resume: @escaping (SimContext, State) -> SimStep) -> SimStep? {
            while word < words.count {
                let current = words[word]
                guard part < current.count else {
                    expanded.append(fields.result)
                    fields = Fields()
                    word += 1
                    part = 0
                    continue
                }
                part += 1
                switch current[part - 1] {
                case .literal(let text, let quoted):
                    if quoted || !text.isEmpty { fields.hasCurrent = true }
                    fields.current += text
                case .variable(let name, let quoted):
                    let value = name == "?" ? String(state.status) : name == "$" ? String(ctx.pid) : state.variables[name] ?? ""
                    if quoted { fields.hasCurrent = true }
                    fields.add(value, split: !quoted)
                case .command(let script, let quoted):
                    let capture = SimOutput()
                    capture.errorWriter = { _, text in ctx.writeError(text) }
                    switch ctx.spawn(["sh", "-c", script], env: state.exported, output: capture) {
                    case .failure(let error):
                        ctx.writeError("sh: can't fork: \(error)\n")
                    case .success(let pid):
                        let before = state
                        return .waitChild(pid) { [self] ctx, exit in
                            var state = before
                            state.status = exit?.code ?? 127
                            var text = capture.stdout
                            while text.hasSuffix("\n") { text.removeLast() }
                            if quoted { fields.hasCurrent = true }
                            fields.add(text, split: !quoted)
                            return resume(ctx, state)
                        }
                    }
                }
            }
            return nil
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
                    if next == "(" {
                        depth += 1
                        // Each level is a shell that parses what is inside it again.
                        if depth > SimShell.maxNesting {
                            throw SyntaxError(message: "syntax error: $(...) nested deeper than \(SimShell.maxNesting) levels")
                        }
                    }
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
