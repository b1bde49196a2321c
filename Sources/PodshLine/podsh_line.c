#include "podsh_line.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <editline/readline.h>

static podsh_completer completer;
static char *history_file;
static char **candidates;
static size_t candidate_count, candidate_next;

static void clear_candidates(void) {
    for (size_t i = 0; i < candidate_count; i++) free(candidates[i]);
    free(candidates);
    candidates = NULL;
    candidate_count = candidate_next = 0;
}

static char *generate(const char *text, int state) {
    if (state == 0) {
        clear_candidates();
        char *list = completer ? completer(text) : NULL;
        if (list) {
            size_t lines = 1;
            for (char *p = list; *p; p++) lines += *p == '\n';
            candidates = calloc(lines, sizeof *candidates);
            char *saveptr = NULL;
            for (char *word = strtok_r(list, "\n", &saveptr); word && candidates;
                 word = strtok_r(NULL, "\n", &saveptr))
                candidates[candidate_count++] = strdup(word);
            free(list);
        }
    }
    if (candidate_next < candidate_count) return strdup(candidates[candidate_next++]);
    return NULL;
}

static char **attempt(const char *text, int start, int end) {
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1; /* never fall back to file names */
    return rl_completion_matches(text, generate);
}

void podsh_line_setup(podsh_completer function, const char *history_path) {
    completer = function;
    rl_readline_name = "podsh";
    rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{}()[],+-*/%^~#";
    rl_attempted_completion_function = attempt;
    using_history();
    if (history_path) {
        history_file = strdup(history_path);
        read_history(history_file);
    }
}

char *podsh_line_read(const char *prompt) {
    return readline(prompt);
}

void podsh_line_add(const char *line) {
    add_history(line);
    if (history_file) {
        write_history(history_file);
        history_truncate_file(history_file, 1000);
    }
}

static volatile int *interrupt_flag;
static volatile sig_atomic_t sigint_count;

static void on_sigint(int signo) {
    (void)signo;
    if (interrupt_flag) *interrupt_flag = 1;
    sigint_count++;
}

/* Handles signo with handler, without SA_RESTART (a blocked read returns and the prompt starts
 * over), and unblocks it: a parent may have left it blocked (the mask is inherited through exec). */
static void handle(int signo, void (*handler)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    sigaction(signo, &action, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

void podsh_sigint_install(volatile int *flag) {
    interrupt_flag = flag;
    handle(SIGINT, on_sigint);
}

unsigned long podsh_sigint_count(void) {
    return (unsigned long)sigint_count;
}

static volatile sig_atomic_t quit_signal;

static void on_quit(int signo) {
    if (interrupt_flag) *interrupt_flag = 1;
    quit_signal = signo;
}

void podsh_quit_install(volatile int *flag) {
    interrupt_flag = flag;
    handle(SIGTERM, on_quit);
    handle(SIGHUP, on_quit);
}

int podsh_quit_requested(void) {
    return (int)quit_signal;
}
