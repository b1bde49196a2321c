/// The simulated `sh -c SCRIPT`: simple commands joined by `;`, `&&` and `||`, quoting with
/// '...', "..." and backslash, and the `exit [N]` builtin. Each command runs as a child process
/// the shell waits for, as ash does. Other shell syntax is refused with a message naming it.
enum SimShell {
    enum Connector { case sequence, and, or }
    struct Command {
        var connector: Connector
        var words: [String]
    }

    static func main(_ ctx: SimContext) -> SimStep {
        let args = ctx.args
        guard args.count >= 3, args[1] == "-c" else {
            if args.count == 2, args[1] == "-c" {
                ctx.writeError("sh: -c requires an argument\n")
                return .exit(2)
            }
            ctx.writeError("sh: the simulated sh runs only `sh -c SCRIPT`\n")
            return .exit(2)
        }
        switch parse(args[2]) {
        case .failure(let error):
            ctx.writeError("sh: \(error.message)\n")
            return .exit(2)
        case .success(let commands):
            return run(ctx, commands, 0, 0)
        }
    }

    static func run(_ ctx: SimContext, _ commands: [Command], _ index: Int, _ status: Int32) -> SimStep {
        guard index < commands.count else { return .exit(status) }
        let command = commands[index]
        if command.connector == .and && status != 0 || command.connector == .or && status == 0 || command.words.isEmpty {
            return run(ctx, commands, index + 1, status)
        }
        let words = command.words
        if words[0] == "exit" {
            guard words.count > 1 else { return .exit(status) }
            guard let code = Int32(words[1]) else {
                ctx.writeError("sh: exit: Illegal number: \(words[1])\n")
                return .exit(2)
            }
            return .exit(code & 0xff)
        }
        if words[0] == ":" { return run(ctx, commands, index + 1, 0) }
        guard ctx.kernel.programs[words[0].split(separator: "/").last.map(String.init) ?? words[0]] != nil else {
            ctx.writeError("sh: \(words[0]): not found\n")
            return run(ctx, commands, index + 1, 127)
        }
        switch ctx.spawn(words) {
        case .failure(let error):
            ctx.writeError("sh: can't fork: \(error)\n")
            return run(ctx, commands, index + 1, 2)
        case .success(let pid):
            return .waitChild(pid) { ctx, exit in run(ctx, commands, index + 1, exit?.code ?? 127) }
        }
    }

    /// Splits a script into commands and words.
    struct SyntaxError: Error {
        let message: String
    }

    static let unsupported = "(the simulated sh runs simple commands with ;, && and ||)"

    static func parse(_ script: String) -> Result<[Command], SyntaxError> {
        var commands: [Command] = []
        var words: [String] = []
        var word = ""
        var inWord = false
        var connector = Connector.sequence
        let chars = Array(script)
        var i = 0
        func endWord() {
            if inWord { words.append(word) }
            word = ""
            inWord = false
        }
        func endCommand(_ next: Connector) {
            endWord()
            commands.append(Command(connector: connector, words: words))
            words = []
            connector = next
        }
        while i < chars.count {
            let c = chars[i]
            switch c {
            case " ", "\t":
                endWord()
            case "\n", ";":
                endCommand(.sequence)
            case "&" where i + 1 < chars.count && chars[i + 1] == "&":
                if words.isEmpty && !inWord { return .failure(SyntaxError(message: "syntax error: unexpected \"&&\"")) }
                endCommand(.and)
                i += 1
            case "|" where i + 1 < chars.count && chars[i + 1] == "|":
                if words.isEmpty && !inWord { return .failure(SyntaxError(message: "syntax error: unexpected \"||\"")) }
                endCommand(.or)
                i += 1
            case "'":
                inWord = true
                i += 1
                while i < chars.count, chars[i] != "'" {
                    word.append(chars[i])
                    i += 1
                }
                if i >= chars.count { return .failure(SyntaxError(message: "syntax error: unterminated quoted string")) }
            case "\"":
                inWord = true
                i += 1
                while i < chars.count, chars[i] != "\"" {
                    if chars[i] == "\\", i + 1 < chars.count, "\"\\$`".contains(chars[i + 1]) { i += 1 }
                    if chars[i] == "$" || chars[i] == "`" {
                        return .failure(SyntaxError(message: "unsupported syntax: '\(chars[i])' \(unsupported)"))
                    }
                    word.append(chars[i])
                    i += 1
                }
                if i >= chars.count { return .failure(SyntaxError(message: "syntax error: unterminated quoted string")) }
            case "\\":
                inWord = true
                if i + 1 < chars.count { word.append(chars[i + 1]) }
                i += 1
            case "|", "&", ">", "<", "$", "`", "(", ")", "{", "}":
                return .failure(SyntaxError(message: "unsupported syntax: '\(c)' \(unsupported)"))
            default:
                inWord = true
                word.append(c)
            }
            i += 1
        }
        endCommand(.sequence)
        return .success(commands)
    }
}
