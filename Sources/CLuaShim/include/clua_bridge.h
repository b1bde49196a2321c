/* clua_bridge: calling Swift from Lua without ever unwinding a Swift frame, and the limits a
 * sandboxed state runs under.
 *
 * A Swift callback has the C signature clua_callback. It reads its arguments and pushes its
 * results with API calls that cannot raise, and returns a status: the number of results, or
 * CLUA_RAISE / CLUA_RAISE_AT with the error message on top of the stack. The trampoline, in C,
 * raises after the Swift frame has returned (lua_error longjmps only through C frames). */
#ifndef CLUA_BRIDGE_H
#define CLUA_BRIDGE_H

#include <stddef.h>
#include <stdint.h>
#include <lua.h>

/* Raise the message on top of the stack as it is. */
#define CLUA_RAISE (-1)
/* Raise it prefixed with the caller's position ("chunk:line: "), as luaL_error does. */
#define CLUA_RAISE_AT (-2)

/* Yield the top N values from the running coroutine: return CLUA_YIELD_BASE - N. */
#define CLUA_YIELD_BASE (-16)

typedef int (*clua_callback)(lua_State *L, void *context, int function);

/* Resumes a coroutine with the script's limits in force (not the host's), and on an error
 * leaves the message with a traceback of the coroutine on its stack. Returns a LUA_* status. */
int clua_resume(lua_State *co, lua_State *from, int nargs, int *nresults);

/* From inside a callback: calls the function below its `nargs` arguments in protected mode, with
 * a traceback handler and the script's limits in force. Returns a LUA_* status; on error the
 * message is on the stack. */
int clua_pcall_script(lua_State *L, int nargs, int nresults);

/* Pushes a C closure that calls `callback(L, context, function)` through the trampoline. */
void clua_pushcallback(lua_State *L, clua_callback callback, void *context, int function);

/* Limits of a state: memory (bytes) and instructions (0 = none), and the interrupt flag. */
typedef struct clua_limits {
    size_t memory_used;
    size_t memory_limit;
    /* While nonzero, allocations ignore the limit: the host is pushing values. */
    int host_active;
    /* Set when an allocation was refused for the limit (to word the error). */
    int memory_exceeded;
    uint64_t instructions_left;
    int instructions_limited;
    /* Set (from a signal handler too) to stop the running chunk. */
    volatile int interrupted;
    /* Set once the budget ran out: the hook raises on every instruction from then on, so a
     * script's own pcall cannot swallow the stop. Cleared before the next chunk. */
    int stopping;
    const char *stop_reason;
    /* The wall-clock deadline of the running chunk (CLOCK_MONOTONIC seconds; 0: none), and
     * whether it passed (the stop is then worded as a timeout). */
    double deadline;
    int timed_out;
    /* Bytes the host holds for the script (the sim's files, logs, pods): they count against
     * memory_limit with the state's own. Set by the host after each of its calls. */
    size_t host_bytes;
} clua_limits;

/* A new state whose allocator and hook enforce `limits` (which must outlive the state). */
lua_State *clua_newstate(clua_limits *limits);

/* Arms the instruction hook for the next chunk (call before each protected call), with a
 * wall-clock limit of `seconds` (0: none). The chunk becomes the process's running chunk (what
 * clua_interrupt_running and the watchdog's queries see) until clua_disarm. */
void clua_arm(lua_State *L, clua_limits *limits, double seconds);
void clua_disarm(clua_limits *limits);

/* Whether the chunk should stop now: interrupted, or past its deadline (which this notices and
 * records). For the host's own waits, which run between hook steps. */
int clua_should_stop(clua_limits *limits);

/* Async-signal-safe, for a signal handler: stop the running chunk, if one runs. */
void clua_interrupt_running(void);
/* Async-signal-safe: stop the running chunk and every chunk armed from now on (the process is
 * quitting: the host's waits and any further chunk stop at once). */
void clua_quit(void);
/* For a watchdog thread: a number for the chunk running now (0: none runs; each arm makes a
 * new one), and that chunk's deadline (0: none). */
unsigned long clua_running_chunk(void);
double clua_running_deadline(void);
/* The limits of a state made by clua_newstate (NULL for another state). */
clua_limits *clua_limits_of_state(lua_State *L);
/* Charges `steps` of work done in C as instructions, and checks the interrupt flag and the
 * deadline: raises the stop (as the hook does) when the script must stop. */
void clua_charge_steps(lua_State *L, clua_limits *limits, uint64_t steps);
/* Replaces string.find, match, gmatch and gsub with versions whose pattern matching is charged
 * to the limits (Lua's own run unbounded in C). Returns a LUA_* status. */
int clua_bound_patterns(lua_State *L);

/* Stops the script for its memory limit, as a refused allocation does (from a callback that
 * found the host holding too much for it: raise the message it pushes next). */
void clua_stop_for_memory(lua_State *L);

/* CLOCK_MONOTONIC, in seconds. */
double clua_monotonic(void);

/* The address of `limits->interrupted`, for a signal handler outside this module. */
volatile int *clua_interrupt_flag(clua_limits *limits);

/* luaL_testudata, luaL_newmetatable, luaL_setmetatable: they allocate at most, and the host's
 * allocations never fail for the limit, so they are safe to call from a callback. */
void *clua_testudata(lua_State *L, int index, const char *name);
int clua_newmetatable(lua_State *L, const char *name);
void clua_setmetatable(lua_State *L, const char *name);

#endif
