import PodLinux
import PodLua
import PodshLine

#if canImport(Glibc)
import Glibc
#endif

/// How podsh meets signals: SIGTERM and SIGHUP (and Ctrl-C outside the prompt) stop the script
/// and the runtime's waits, and podsh leaves through its normal exit, which removes the pods;
/// a watchdog thread ends podsh a second later if it has not (a chunk stuck in a C call),
/// removing the pods itself. At the prompt Ctrl-C stops the running chunk only — unless that
/// chunk cannot be stopped within the second.
enum Signals {
    /// How long the main thread has to stop after a signal or a timeout before the watchdog acts.
    static let grace = 1.0

    static func install(sigintQuits: Bool) {
        podsh_signals_install(LuaState.interruptRunningChunk, LuaState.quitAllChunks, sigintQuits ? 1 : 0)
        let config = podsh_watchdog_config(
            grace: grace, running_chunk: LuaState.runningChunk, running_deadline: LuaState.runningDeadline,
            cleanup: { _ = LinuxBackend.removeOwnedPods() })
        let error = podsh_watchdog_start(config)
        if error != 0 { stderrWrite("podsh: cannot start the watchdog thread: \(String(cString: strerror(error)))\n") }
    }

    /// "SIGTERM" for 15.
    static func name(_ signal: Int32) -> String {
        podsh_signal_name(signal).map { "SIG" + String(cString: $0) } ?? "signal \(signal)"
    }

    /// The exit status after a quit signal (128 + its number, as a shell reports it), or `status`.
    static func exitStatus(_ status: Int32) -> Int32 {
        let signal = podsh_quit_requested()
        return signal != 0 ? 128 + signal : status
    }
}
