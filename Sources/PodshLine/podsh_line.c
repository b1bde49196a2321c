#define _GNU_SOURCE
#include "podsh_line.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>
#include <unistd.h>
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

/* What the handlers call (async-signal-safe functions of the Lua bridge). */
static void (*on_interrupt)(void);
static void (*on_quit)(void);
static volatile sig_atomic_t sigint_count;
static volatile sig_atomic_t quit_signal;
static volatile sig_atomic_t sigint_quits;
static sem_t watchdog_wake;
static volatile sig_atomic_t watchdog_running;

static void wake_watchdog(void) {
    if (watchdog_running) sem_post(&watchdog_wake);   /* async-signal-safe */
}

static void on_sigint(int signo) {
    if (sigint_quits) {
        if (quit_signal == 0) quit_signal = signo;
        if (on_quit) on_quit();
    } else if (on_interrupt) {
        on_interrupt();
    }
    sigint_count++;
    wake_watchdog();
}

static void on_quit_signal(int signo) {
    if (quit_signal == 0) quit_signal = signo;
    if (on_quit) on_quit();
    wake_watchdog();
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

void podsh_signals_install(void (*interrupt)(void), void (*quit)(void), int sigint_is_quit) {
    on_interrupt = interrupt;
    on_quit = quit;
    sigint_quits = sigint_is_quit;
    handle(SIGINT, on_sigint);
    handle(SIGTERM, on_quit_signal);
    handle(SIGHUP, on_quit_signal);
}

unsigned long podsh_sigint_count(void) {
    return (unsigned long)sigint_count;
}

int podsh_quit_requested(void) {
    return (int)quit_signal;
}

/* The watchdog: a thread that ends the process when the main thread cannot (it is stuck in a
 * C call the Lua hook never interrupts). It blocks every signal, so they reach the main thread. */
static podsh_watchdog_config watchdog;

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void say(const char *text) {
    size_t left = strlen(text);
    while (left > 0) {
        ssize_t n = write(2, text, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text += n;
        left -= (size_t)n;
    }
}

static void end_now(const char *why, int status) {
    char line[256];
    snprintf(line, sizeof line, "podsh: %s; removing its pods and leaving\n", why);
    say(line);
    if (watchdog.cleanup) watchdog.cleanup();
    _exit(status);
}

static void *watch(void *unused) {
    (void)unused;
    double quit_at = 0, sigint_at = 0, timeout_seen = 0;
    unsigned long seen_sigints = 0, sigint_chunk = 0, timeout_chunk = 0;
    for (;;) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
        sem_timedwait(&watchdog_wake, &until);
        double now = now_seconds();
        unsigned long chunk = watchdog.running_chunk ? watchdog.running_chunk() : 0;
        int signo = (int)quit_signal;
        if (signo != 0) {
            /* Asked to quit: the main thread leaves through its normal exit, removing the pods;
             * if it has not within the grace, the pods are removed here. */
            if (quit_at == 0) quit_at = now;
            if (now - quit_at >= watchdog.grace) {
                char why[160];
                const char *name = sigabbrev_np(signo);
                snprintf(why, sizeof why, "still running %g s after SIG%s (stuck in a C call the script's limits cannot stop)",
                         watchdog.grace, name ? name : "?");
                end_now(why, 128 + signo);
            }
            continue;
        }
        /* Ctrl-C at the prompt: the chunk it interrupted must stop within the grace. */
        if ((unsigned long)sigint_count != seen_sigints) {
            seen_sigints = (unsigned long)sigint_count;
            sigint_at = now;
            sigint_chunk = chunk;
        }
        if (sigint_chunk != 0 && chunk == sigint_chunk && now - sigint_at >= watchdog.grace)
            end_now("the chunk did not stop within a second of Ctrl-C (stuck in a C call the script's limits cannot stop)", 128 + SIGINT);
        if (chunk != sigint_chunk) sigint_chunk = 0;
        /* A chunk past its wall-clock limit stops at its next hook; one stuck in C does not. */
        double deadline = watchdog.running_deadline ? watchdog.running_deadline() : 0;
        if (chunk != 0 && deadline > 0 && now >= deadline) {
            if (timeout_chunk != chunk) {
                timeout_chunk = chunk;
                timeout_seen = now;
            }
            if (now - timeout_seen >= watchdog.grace)
                end_now("the chunk ran past its wall-clock limit (--timeout), stuck in a C call the script's limits cannot stop", 1);
        }
    }
    return NULL;
}

int podsh_watchdog_start(podsh_watchdog_config config) {
    if (watchdog_running) return 0;
    watchdog = config;
    if (sem_init(&watchdog_wake, 0, 0) != 0) return errno;
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &saved);          /* the new thread inherits the mask */
    pthread_t thread;
    int error = pthread_create(&thread, NULL, watch, NULL);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (error != 0) return error;
    pthread_detach(thread);
    watchdog_running = 1;
    return 0;
}

const char *podsh_signal_name(int signo) {
    return sigabbrev_np(signo);
}
