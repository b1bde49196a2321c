import ArgumentParser

/// `podsh help [COMMAND]`: the overview, or one command's help.
struct HelpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "help", abstract: "Print this overview, or one command's help.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The command.")
    var command: String?

    func run() throws {
        guard let command else {
            stdoutWrite(Podsh.overview())
            return
        }
        guard let type = Podsh.command(named: command) else {
            try Podsh.refuseUnknownWord(command)
            stderrWrite("podsh: help: no command '\(command)'\n")
            throw ExitCode(2)
        }
        stdoutWrite(type.helpMessage(columns: terminalColumns()) + "\n")
    }
}
