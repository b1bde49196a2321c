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

/* Installs a SIGINT handler that sets `*flag` (a Lua state's interrupt flag) and counts the
 * signals; the prompt survives Ctrl-C, the running chunk stops at its next hook. */
void podsh_sigint_install(volatile int *flag);
unsigned long podsh_sigint_count(void);

/* SIGTERM and SIGHUP (a closed terminal): set `*flag` (the running chunk and the runtime's
 * waits stop) and remember the signal, so that podsh leaves through its normal exit and
 * removes its pods instead of dying with them still running. */
void podsh_quit_install(volatile int *flag);
/* The signal that asked podsh to quit, or 0. */
int podsh_quit_requested(void);

#endif
