/* clua: what Swift cannot call directly in the Lua 5.4 C API.
 *
 * Swift imports no function-like macro (lua_pop, lua_pcall, lua_tostring, ...) and no
 * expression macro (LUA_REGISTRYINDEX), so they are wrapped here as static inline functions.
 * Entering Lua from Swift goes through clua_pcall_traceback / clua_load_and_call only: every
 * error is caught by lua_pcall inside C, so no longjmp ever crosses a Swift frame. */
#ifndef CLUA_H
#define CLUA_H

#include <stddef.h>
#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>
#include "clua_bridge.h"

static inline int clua_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int clua_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline void clua_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void clua_remove(lua_State *L, int idx) { lua_remove(L, idx); }
static inline void clua_insert(lua_State *L, int idx) { lua_insert(L, idx); }
static inline int clua_isnoneornil(lua_State *L, int idx) { return lua_isnoneornil(L, idx); }
static inline const char *clua_version_string(void) { return LUA_RELEASE; }

/* Calls the function below its `nargs` arguments in protected mode with a message handler
 * that appends a traceback. Returns a LUA_* status; on error the message is on the stack. */
int clua_pcall_traceback(lua_State *L, int nargs, int nresults);

/* Loads `chunk` (text only: mode "t") as `chunkname` and calls it with no arguments, all
 * results kept. Returns a LUA_* status; on error the message (with traceback for runtime
 * errors) is the only value pushed. */
int clua_load_and_call(lua_State *L, const char *chunk, size_t len, const char *chunkname);

/* Loads `chunk` (text only) and leaves the function on the stack. Returns a LUA_* status; on
 * error the message is pushed instead. */
int clua_load(lua_State *L, const char *chunk, size_t len, const char *chunkname);

/* Opens the standard libraries inside a protected call (luaL_openlibs may raise on memory
 * errors). Returns a LUA_* status; on error the message is on the stack. */
int clua_openlibs(lua_State *L);

#endif
