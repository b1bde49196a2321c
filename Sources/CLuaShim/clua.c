/* See clua.h. Everything here may raise Lua errors only inside a lua_pcall it set up itself. */
#include "clua.h"

/* Message handler: the error message followed by a stack traceback (as lua.c's msghandler). */
static int clua_msghandler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int clua_pcall_traceback(lua_State *L, int nargs, int nresults) {
    int base = lua_gettop(L) - nargs;      /* index of the function */
    lua_pushcfunction(L, clua_msghandler); /* [..., f, args..., h] */
    lua_insert(L, base);                   /* [..., h, f, args...] */
    int status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);                   /* [..., results or message] */
    return status;
}

int clua_load_and_call(lua_State *L, const char *chunk, size_t len, const char *chunkname) {
    int status = luaL_loadbufferx(L, chunk, len, chunkname, "t"); /* [f] or [msg] */
    if (status != LUA_OK)
        return status;
    return clua_pcall_traceback(L, 0, LUA_MULTRET);               /* [results...] or [msg] */
}

int clua_load(lua_State *L, const char *chunk, size_t len, const char *chunkname) {
    return luaL_loadbufferx(L, chunk, len, chunkname, "t");
}

static int clua_openlibs_body(lua_State *L) {
    luaL_openlibs(L);
    return 0;
}

int clua_openlibs(lua_State *L) {
    lua_pushcfunction(L, clua_openlibs_body);
    return lua_pcall(L, 0, 0, 0);
}
