#ifndef PODSH_LINE_H
#define PODSH_LINE_H

/* The prompt's line editor (libedit) and its Ctrl-C handling, kept in C so that no Swift
 * runs in a signal handler and libedit's callbacks get plain C functions. */

/* Returns the completions of `word`, separated by '\n', in memory from malloc (or NULL).
 * Called from libedit when the user presses Tab. */
typedef char *(*podsh_completer)(const char *word);

/* Sets up libedit: the completer, word breaks that keep `pod.cre` and `p:sta` whole, and the
 * history file (read now; `podsh_line_add` appends to it). */
void podsh_line_setup(podsh_completer completer, const char *history_path);

/* Reads one line with `prompt`; NULL at end of input (Ctrl-D) or when Ctrl-C cancelled it
 * (tell them apart with `podsh_sigint_count`). The result is from malloc. */
char *podsh_line_read(const char *prompt);

/* Adds a line to the history and appends it to the history file. */
void podsh_line_add(const char *line);

/* Installs the handlers of SIGINT, SIGTERM and SIGHUP (a closed terminal). SIGTERM and SIGHUP
 * call `quit` (async-signal-safe: the running chunk, the runtime's waits and every later chunk
 * stop) and remember the signal, so that podsh leaves through its normal exit and removes its
 * pods instead of dying with them still running. SIGINT calls `interrupt` (the running chunk
 * stops; the prompt goes on), or is a quit like SIGTERM when `sigint_is_quit` (a script). */
void podsh_signals_install(void (*interrupt)(void), void (*quit)(void), int sigint_is_quit);
/* How many SIGINTs came (the prompt tells a cancelled line from end of input). */
unsigned long podsh_sigint_count(void);
/* The signal that asked podsh to quit, or 0. */
int podsh_quit_requested(void);

/* The watchdog thread. When the main thread has not ended `grace` seconds after a quit signal,
 * or a chunk still runs `grace` seconds after Ctrl-C at the prompt or after its wall-clock
 * deadline (it is stuck in a C call the Lua hook cannot stop), the watchdog prints why, calls
 * `cleanup` (which removes the pods from this thread) and ends the process: 128 + the signal,
 * or 1 for a timeout. */
typedef struct podsh_watchdog_config {
    double grace;
    /* The chunk running now (0: none) and its deadline (CLOCK_MONOTONIC s; 0: none). */
    unsigned long (*running_chunk)(void);
    double (*running_deadline)(void);
    void (*cleanup)(void);
} podsh_watchdog_config;
/* "TERM" for SIGTERM (NULL for an unknown number). */
const char *podsh_signal_name(int signo);

/* Starts it once (later calls do nothing); 0, or the error number. */
int podsh_watchdog_start(podsh_watchdog_config config);

#endif
