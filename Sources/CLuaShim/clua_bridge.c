/* See clua_bridge.h. */
#include "clua_bridge.h"
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <lauxlib.h>

/* How often (in VM instructions) the hook checks the budget and the interrupt flag. */
#define CLUA_HOOK_STEP 1000

static void *clua_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
static void clua_hook(lua_State *L, lua_Debug *ar);

/* The chunk running now (its limits), a number for it, and its deadline: the signal handlers
 * and the watchdog thread read them, so they are atomics (the deadline in nanoseconds). */
static _Atomic(clua_limits *) running_limits;
static atomic_ulong running_chunk, chunks_armed;
static atomic_llong running_deadline_ns;
static volatile sig_atomic_t quitting;

double clua_monotonic(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

int clua_should_stop(clua_limits *limits) {
    if (!limits->interrupted && limits->deadline > 0 && clua_monotonic() >= limits->deadline) {
        limits->timed_out = 1;
        limits->interrupted = 1;
    }
    return limits->interrupted;
}

static const char *clua_interruption(clua_limits *limits) {
    return limits->timed_out ? "wall-clock limit exceeded" : "interrupted";
}

void clua_interrupt_running(void) {
    clua_limits *limits = atomic_load(&running_limits);
    if (limits != NULL) limits->interrupted = 1;
}

void clua_quit(void) {
    quitting = 1;
    clua_interrupt_running();
}

unsigned long clua_running_chunk(void) {
    return atomic_load(&running_chunk);
}

double clua_running_deadline(void) {
    return (double)atomic_load(&running_deadline_ns) / 1e9;
}

/* The limits of a state made by clua_newstate; NULL for any other state (a stock lua5.4
 * loading the module has its own allocator, whose userdata is not ours). */
static clua_limits *clua_limits_of(lua_State *L) {
    void *ud = NULL;
    return lua_getallocf(L, &ud) == clua_alloc ? (clua_limits *)ud : NULL;
}

clua_limits *clua_limits_of_state(lua_State *L) {
    return clua_limits_of(L);
}

static int clua_trampoline(lua_State *L) {
    clua_callback callback = (clua_callback)(uintptr_t)lua_touserdata(L, lua_upvalueindex(1));
    void *context = lua_touserdata(L, lua_upvalueindex(2));
    int function = (int)lua_tointeger(L, lua_upvalueindex(3));
    clua_limits *limits = clua_limits_of(L);
    /* The host's own pushes must not fail for the script's memory limit. */
    if (limits != NULL) limits->host_active++;
    int status = callback(L, context, function);   /* the Swift frame returns here */
    if (limits != NULL) limits->host_active--;
    /* Interrupted while the host worked (a wait, a sleep, an exec): stop now, not after the
     * next hook step, as a Ctrl-C during a long call means (a call that raises or yields goes
     * its way; the hook stops what follows). */
    if (limits != NULL && !limits->host_active && status >= 0 && clua_should_stop(limits))
        clua_charge_steps(L, limits, 0);              /* raises the stop */
    if (status == CLUA_RAISE)
        return lua_error(L);
    if (status <= CLUA_YIELD_BASE)
        return lua_yield(L, CLUA_YIELD_BASE - status);
    if (status == CLUA_RAISE_AT) {
        luaL_where(L, 1);                            /* [msg, where] */
        lua_insert(L, -2);                           /* [where, msg] */
        lua_concat(L, 2);                            /* [where..msg] */
        return lua_error(L);
    }
    return status;
}

void clua_pushcallback(lua_State *L, clua_callback callback, void *context, int function) {
    lua_pushlightuserdata(L, (void *)(uintptr_t)callback);
    lua_pushlightuserdata(L, context);
    lua_pushinteger(L, function);
    lua_pushcclosure(L, clua_trampoline, 3);
}

static void *clua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    clua_limits *limits = (clua_limits *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        limits->memory_used -= old;
        return NULL;
    }
    if (nsize > old && limits->memory_limit && !limits->host_active &&
        limits->memory_used + limits->host_bytes - old + nsize > limits->memory_limit) {
        limits->memory_exceeded = 1;
        /* The script may catch this memory error with pcall; the hook will not let it go on. */
        limits->stopping = 1;
        limits->stop_reason = "memory limit exceeded";
        return NULL;                                 /* Lua raises a memory error */
    }
    void *block = realloc(ptr, nsize);
    if (block != NULL)
        limits->memory_used = limits->memory_used - old + nsize;
    return block;
}

/* Every CLUA_HOOK_STEP instructions: charge them, as C code charges its own steps. */
static void clua_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    clua_limits *limits = clua_limits_of(L);
    if (limits != NULL) clua_charge_steps(L, limits, CLUA_HOOK_STEP);
}

/* Once stopping, raises again for every pcall that caught the stop, with the hook re-armed to
 * run at every instruction. */
void clua_charge_steps(lua_State *L, clua_limits *limits, uint64_t steps) {
    if (!limits->stopping) {
        if (clua_should_stop(limits)) {
            limits->stopping = 1;
            limits->stop_reason = clua_interruption(limits);
        } else if (limits->instructions_limited) {
            if (limits->instructions_left <= steps) {
                limits->instructions_left = 0;
                limits->stopping = 1;
                limits->stop_reason = "instruction budget exhausted";
            } else {
                limits->instructions_left -= steps;
            }
        }
    }
    if (limits->stopping) {
        lua_sethook(L, clua_hook, LUA_MASKCOUNT, 1);
        luaL_error(L, "%s", limits->stop_reason);
    }
}

void clua_stop_for_memory(lua_State *L) {
    clua_limits *limits = clua_limits_of(L);
    if (limits == NULL) return;
    limits->memory_exceeded = 1;
    limits->stopping = 1;
    limits->stop_reason = "memory limit exceeded";
    lua_sethook(L, clua_hook, LUA_MASKCOUNT, 1);
}

lua_State *clua_newstate(clua_limits *limits) {
    return lua_newstate(clua_alloc, limits);
}

void *clua_testudata(lua_State *L, int index, const char *name) {
    return luaL_testudata(L, index, name);
}

int clua_newmetatable(lua_State *L, const char *name) {
    return luaL_newmetatable(L, name);
}

void clua_setmetatable(lua_State *L, const char *name) {
    luaL_setmetatable(L, name);
}

void clua_arm(lua_State *L, clua_limits *limits, double seconds) {
    limits->stopping = 0;
    limits->interrupted = quitting;
    limits->memory_exceeded = 0;
    limits->timed_out = 0;
    limits->deadline = seconds > 0 ? clua_monotonic() + seconds : 0;
    atomic_store(&running_deadline_ns, (long long)(limits->deadline * 1e9));
    atomic_store(&running_limits, limits);
    atomic_store(&running_chunk, atomic_fetch_add(&chunks_armed, 1) + 1);
    if (quitting) limits->interrupted = 1;   /* a signal between the two stores */
    lua_sethook(L, clua_hook, LUA_MASKCOUNT, CLUA_HOOK_STEP);
}

void clua_disarm(clua_limits *limits) {
    limits->deadline = 0;
    clua_limits *expected = limits;
    if (atomic_compare_exchange_strong(&running_limits, &expected, NULL)) {
        atomic_store(&running_chunk, 0);
        atomic_store(&running_deadline_ns, 0);
    }
}

int clua_resume(lua_State *co, lua_State *from, int nargs, int *nresults) {
    clua_limits *limits = clua_limits_of(co);
    int saved = limits != NULL ? limits->host_active : 0;
    if (limits != NULL) limits->host_active = 0;       /* program code runs under the limits */
    int status = lua_resume(co, from, nargs, nresults);
    if (limits != NULL) limits->host_active = saved;
    if (status != LUA_OK && status != LUA_YIELD) {
        const char *message = lua_tostring(co, -1);
        luaL_traceback(co, co, message ? message : "(error object is not a string)", 0);
    }
    return status;
}

int clua_pcall_traceback(lua_State *L, int nargs, int nresults);

int clua_pcall_script(lua_State *L, int nargs, int nresults) {
    clua_limits *limits = clua_limits_of(L);
    int saved = limits != NULL ? limits->host_active : 0;
    if (limits != NULL) limits->host_active = 0;
    int status = clua_pcall_traceback(L, nargs, nresults);
    if (limits != NULL) limits->host_active = saved;
    return status;
}

volatile int *clua_interrupt_flag(clua_limits *limits) {
    return &limits->interrupted;
}
