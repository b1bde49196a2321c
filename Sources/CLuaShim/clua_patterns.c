/* string.find, string.match, string.gmatch and string.gsub for the sandbox, with Lua 5.4's
 * pattern language and results, whose matching charges its steps to the script's limits.
 *
 * Lua's own matcher backtracks in C, where the instruction hook never runs: `("a"):rep(20000)
 * :find("a*a*a*b")` ran for hours past the budget and the wall-clock limit. This one counts a
 * step for every attempt at a pattern item and every character a repetition tries; every
 * CLUA_STEP_CHUNK steps it charges them as instructions and checks the interrupt flag and the
 * deadline, raising the stop as the hook would. Plain searches use memmem (linear). */
#define _GNU_SOURCE
#include "clua_bridge.h"
#include <ctype.h>
#include <string.h>
#include <lauxlib.h>

#define CLUA_STEP_CHUNK 4096
#define MAX_CAPTURES 32          /* LUA_MAXCAPTURES */
#define MAX_DEPTH 200            /* MAXCCALLS: "pattern too complex" */
#define CAPTURE_OPEN (-1)
#define CAPTURE_POSITION (-2)
#define ESCAPE '%'
#define SPECIALS "^$*+?.([%-"

typedef struct {
    const char *subject, *subject_end, *pattern_end;
    lua_State *L;
    clua_limits *limits;
    int ticks;                   /* steps left before the next charge */
    int depth;                   /* nested item calls left */
    int level;                   /* captures open or closed so far */
    struct { const char *start; ptrdiff_t length; } capture[MAX_CAPTURES];
} matcher;

/* Charges a chunk of steps; raises the script's stop (budget, interrupt, deadline). */
static void charge(matcher *m) {
    m->ticks = CLUA_STEP_CHUNK;
    if (m->limits != NULL) clua_charge_steps(m->L, m->limits, CLUA_STEP_CHUNK);
}

static inline void step(matcher *m) {
    if (--m->ticks <= 0) charge(m);
}

static const char *item_end(matcher *m, const char *p) {
    char c = *p++;
    if (c == ESCAPE) {
        if (p >= m->pattern_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') {
        if (*p == '^') p++;
        do {                     /* the first character of a set may be ']' */
            if (p >= m->pattern_end) luaL_error(m->L, "malformed pattern (missing ']')");
            if (*(p++) == ESCAPE && p < m->pattern_end) p++;
        } while (*p != ']');
        return p + 1;
    }
    return p;
}

static int class_matches(int c, int class) {
    int yes;
    switch (tolower(class)) {
    case 'a': yes = isalpha(c); break;
    case 'c': yes = iscntrl(c); break;
    case 'd': yes = isdigit(c); break;
    case 'g': yes = isgraph(c); break;
    case 'l': yes = islower(c); break;
    case 'p': yes = ispunct(c); break;
    case 's': yes = isspace(c); break;
    case 'u': yes = isupper(c); break;
    case 'w': yes = isalnum(c); break;
    case 'x': yes = isxdigit(c); break;
    default: return class == c;
    }
    if (isupper(class)) yes = !yes;
    return yes != 0;
}

/* `set` is at '[', `last` at its closing ']'. */
static int set_matches(int c, const char *set, const char *last) {
    int wanted = 1;
    if (*(set + 1) == '^') {
        wanted = 0;
        set++;
    }
    while (++set < last) {
        if (*set == ESCAPE) {
            set++;
            if (class_matches(c, (unsigned char)*set)) return wanted;
        } else if (*(set + 1) == '-' && set + 2 < last) {
            set += 2;
            if ((unsigned char)*(set - 2) <= c && c <= (unsigned char)*set) return wanted;
        } else if ((unsigned char)*set == c) {
            return wanted;
        }
    }
    return !wanted;
}

static int single_matches(matcher *m, const char *s, const char *p, const char *ep) {
    if (s >= m->subject_end) return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case ESCAPE: return class_matches(c, (unsigned char)*(p + 1));
    case '[': return set_matches(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *match(matcher *m, const char *s, const char *p);

static const char *balanced(matcher *m, const char *s, const char *p) {
    if (p >= m->pattern_end - 1) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->subject_end || *s != *p) return NULL;
    char open = *p, close = *(p + 1);
    int nesting = 1;
    while (++s < m->subject_end) {
        step(m);
        if (*s == close) {
            if (--nesting == 0) return s + 1;
        } else if (*s == open) {
            nesting++;
        }
    }
    return NULL;
}

static const char *longest(matcher *m, const char *s, const char *p, const char *ep) {
    ptrdiff_t count = 0;
    while (single_matches(m, s + count, p, ep)) {
        step(m);
        count++;
    }
    for (; count >= 0; count--) {          /* the longest first, then shorter */
        const char *end = match(m, s + count, ep + 1);
        if (end != NULL) return end;
    }
    return NULL;
}

static const char *shortest(matcher *m, const char *s, const char *p, const char *ep) {
    for (;;) {
        const char *end = match(m, s, ep + 1);
        if (end != NULL) return end;
        if (!single_matches(m, s, p, ep)) return NULL;
        step(m);
        s++;
    }
}

static const char *open_capture(matcher *m, const char *s, const char *p, ptrdiff_t what) {
    if (m->level >= MAX_CAPTURES) luaL_error(m->L, "too many captures");
    m->capture[m->level].start = s;
    m->capture[m->level].length = what;
    m->level++;
    const char *end = match(m, s, p);
    if (end == NULL) m->level--;
    return end;
}

static const char *close_capture(matcher *m, const char *s, const char *p) {
    int open = -1;
    for (int i = m->level - 1; i >= 0; i--) {
        if (m->capture[i].length == CAPTURE_OPEN) {
            open = i;
            break;
        }
    }
    if (open < 0) luaL_error(m->L, "invalid pattern capture");
    m->capture[open].length = s - m->capture[open].start;
    const char *end = match(m, s, p);
    if (end == NULL) m->capture[open].length = CAPTURE_OPEN;
    return end;
}

static const char *back_reference(matcher *m, const char *s, int digit) {
    int i = digit - '1';
    if (i < 0 || i >= m->level || m->capture[i].length == CAPTURE_OPEN)
        luaL_error(m->L, "invalid capture index %%%d", i + 1);
    size_t length = (size_t)m->capture[i].length;
    if ((size_t)(m->subject_end - s) >= length && memcmp(m->capture[i].start, s, length) == 0) return s + length;
    return NULL;
}

/* Where the pattern from `p` matches the subject from `s` ends, or NULL. Recurses for
 * captures and repetitions (at most MAX_DEPTH deep); a plain item continues the loop. */
static const char *match(matcher *m, const char *s, const char *p) {
    if (m->depth-- == 0) luaL_error(m->L, "pattern too complex");
    for (;;) {
        step(m);
        if (p == m->pattern_end) break;
        if (*p == '(') {
            s = *(p + 1) == ')' ? open_capture(m, s, p + 2, CAPTURE_POSITION) : open_capture(m, s, p + 1, CAPTURE_OPEN);
            break;
        }
        if (*p == ')') {
            s = close_capture(m, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == m->pattern_end) {
            s = s == m->subject_end ? s : NULL;
            break;
        }
        if (*p == ESCAPE && *(p + 1) == 'b') {
            s = balanced(m, s, p + 2);
            if (s == NULL) break;
            p += 4;
            continue;
        }
        if (*p == ESCAPE && *(p + 1) == 'f') {
            p += 2;
            if (*p != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
            const char *ep = item_end(m, p);
            int before = s == m->subject ? 0 : (unsigned char)*(s - 1);
            int here = s < m->subject_end ? (unsigned char)*s : 0;
            if (!set_matches(before, p, ep - 1) && set_matches(here, p, ep - 1)) {
                p = ep;
                continue;
            }
            s = NULL;
            break;
        }
        if (*p == ESCAPE && isdigit((unsigned char)*(p + 1))) {
            s = back_reference(m, s, (unsigned char)*(p + 1));
            if (s == NULL) break;
            p += 2;
            continue;
        }
        const char *ep = item_end(m, p);
        if (!single_matches(m, s, p, ep)) {
            if (*ep == '*' || *ep == '?' || *ep == '-') {   /* zero of them will do */
                p = ep + 1;
                continue;
            }
            s = NULL;
            break;
        }
        if (*ep == '?') {
            const char *end = match(m, s + 1, ep + 1);
            if (end != NULL) {
                s = end;
                break;
            }
            p = ep + 1;
            continue;
        }
        if (*ep == '+') {
            s = longest(m, s + 1, p, ep);
            break;
        }
        if (*ep == '*') {
            s = longest(m, s, p, ep);
            break;
        }
        if (*ep == '-') {
            s = shortest(m, s, p, ep);
            break;
        }
        s++;
        p = ep;
    }
    m->depth++;
    return s;
}

static void reset(matcher *m) {
    m->level = 0;
    m->depth = MAX_DEPTH;
}

static void begin(matcher *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp) {
    m->L = L;
    m->limits = clua_limits_of_state(L);
    m->subject = s;
    m->subject_end = s + ls;
    m->pattern_end = p + lp;
    m->ticks = CLUA_STEP_CHUNK;
    reset(m);
}

/* Pushes capture i (the whole match s..e when there are none and i is 0). */
static void push_capture(matcher *m, int i, const char *s, const char *e) {
    if (i >= m->level) {
        if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s));
        return;
    }
    ptrdiff_t length = m->capture[i].length;
    if (length == CAPTURE_OPEN) luaL_error(m->L, "unfinished capture");
    if (length == CAPTURE_POSITION)
        lua_pushinteger(m->L, (lua_Integer)(m->capture[i].start - m->subject) + 1);
    else
        lua_pushlstring(m->L, m->capture[i].start, (size_t)length);
}

/* Pushes the captures (or the whole match, when `s` is given and there are none). */
static int push_captures(matcher *m, const char *s, const char *e) {
    int count = (m->level == 0 && s != NULL) ? 1 : m->level;
    luaL_checkstack(m->L, count, "too many captures");
    for (int i = 0; i < count; i++) push_capture(m, i, s, e);
    return count;
}

/* A string position from Lua's 1-based, possibly negative index, as string.find reads it. */
static size_t start_index(lua_Integer position, size_t length) {
    if (position > 0) return (size_t)position;
    if (position == 0) return 1;
    if (position < -(lua_Integer)length) return 1;
    return length + (size_t)position + 1;
}

static int has_specials(const char *p, size_t lp) {
    for (size_t i = 0; i < lp; i++)
        if (p[i] != '\0' && strchr(SPECIALS, p[i]) != NULL) return 1;
    return 0;
}

static int find_or_match(lua_State *L, int find) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_index(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        const char *found = lp == 0 ? s + init : memmem(s + init, ls - init, p, lp);
        if (found == NULL) {
            luaL_pushfail(L);
            return 1;
        }
        lua_pushinteger(L, (lua_Integer)(found - s) + 1);
        lua_pushinteger(L, (lua_Integer)(found - s) + (lua_Integer)lp);
        return 2;
    }
    matcher m;
    int anchored = lp > 0 && *p == '^';
    if (anchored) {
        p++;
        lp--;
    }
    begin(&m, L, s, ls, p, lp);
    const char *from = s + init;
    do {
        reset(&m);
        const char *end = match(&m, from, p);
        if (end != NULL) {
            if (find) {
                lua_pushinteger(L, (lua_Integer)(from - s) + 1);
                lua_pushinteger(L, (lua_Integer)(end - s));
                return push_captures(&m, NULL, NULL) + 2;
            }
            return push_captures(&m, from, end);
        }
    } while (from++ < m.subject_end && !anchored);
    luaL_pushfail(L);
    return 1;
}

static int bounded_find(lua_State *L) { return find_or_match(L, 1); }
static int bounded_match(lua_State *L) { return find_or_match(L, 0); }

/* gmatch's iterator: upvalues the subject, the pattern and a userdata with the position to go
 * on from and where the last match ended (so an empty match never repeats there). */
typedef struct { size_t next; ptrdiff_t last_end; } gmatch_state;

static int gmatch_next(lua_State *L) {
    size_t ls, lp;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    gmatch_state *state = (gmatch_state *)lua_touserdata(L, lua_upvalueindex(3));
    matcher m;
    begin(&m, L, s, ls, p, lp);
    for (const char *from = s + state->next; from <= m.subject_end; from++) {
        reset(&m);
        const char *end = match(&m, from, p);
        if (end != NULL && end - s != state->last_end) {
            state->next = (size_t)(end - s);
            state->last_end = end - s;
            return push_captures(&m, from, end);
        }
    }
    state->next = ls + 1;
    return 0;
}

static int bounded_gmatch(lua_State *L) {
    size_t ls;
    luaL_checklstring(L, 1, &ls);
    luaL_checkstring(L, 2);
    size_t init = start_index(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) init = ls + 1;
    lua_settop(L, 2);
    gmatch_state *state = (gmatch_state *)lua_newuserdatauv(L, sizeof(gmatch_state), 0);
    state->next = init;
    state->last_end = -1;
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

/* Adds the replacement string (argument 3) for the match s..e, with %0-%9 and %%. */
static void add_replacement_string(matcher *m, luaL_Buffer *b, const char *s, const char *e) {
    lua_State *L = m->L;
    size_t length;
    const char *text = lua_tolstring(L, 3, &length);
    const char *end = text + length;
    const char *escape;
    while ((escape = memchr(text, ESCAPE, (size_t)(end - text))) != NULL) {
        luaL_addlstring(b, text, (size_t)(escape - text));
        escape++;
        if (escape < end && *escape == ESCAPE) {
            luaL_addchar(b, ESCAPE);
        } else if (escape < end && isdigit((unsigned char)*escape)) {
            if (*escape == '0') {
                luaL_addlstring(b, s, (size_t)(e - s));
            } else {
                push_capture(m, *escape - '1', s, e);
                luaL_tolstring(L, -1, NULL);
                lua_remove(L, -2);
                luaL_addvalue(b);
            }
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", ESCAPE);
        }
        text = escape + 1;
        step(m);
    }
    luaL_addlstring(b, text, (size_t)(end - text));
}

/* Adds the replacement for the match s..e; returns whether it changed the subject. */
static int add_replacement(matcher *m, luaL_Buffer *b, const char *s, const char *e, int type) {
    lua_State *L = m->L;
    if (type == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int count = push_captures(m, s, e);
        lua_call(L, count, 1);
    } else if (type == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_replacement_string(m, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {         /* nil or false: keep the match */
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1)) return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int bounded_gsub(lua_State *L) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int type = lua_type(L, 3);
    lua_Integer most = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, type == LUA_TNUMBER || type == LUA_TSTRING || type == LUA_TFUNCTION || type == LUA_TTABLE, 3,
                     "string/function/table");
    int anchored = lp > 0 && *p == '^';
    if (anchored) {
        p++;
        lp--;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    matcher m;
    begin(&m, L, s, ls, p, lp);
    const char *from = s, *last_end = NULL;
    lua_Integer count = 0;
    int changed = 0;
    while (count < most) {
        reset(&m);
        const char *end = match(&m, from, p);
        if (end != NULL && end != last_end) {
            count++;
            changed = add_replacement(&m, &b, from, end, type) | changed;
            from = last_end = end;
        } else if (from < m.subject_end) {
            luaL_addchar(&b, *from++);
        } else {
            break;
        }
        if (anchored) break;
    }
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, from, (size_t)(m.subject_end - from));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, count);
    return 2;
}

static int install(lua_State *L) {
    static const luaL_Reg functions[] = {
        {"find", bounded_find}, {"match", bounded_match}, {"gmatch", bounded_gmatch}, {"gsub", bounded_gsub}, {NULL, NULL}};
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, "string");
    if (lua_istable(L, -1)) luaL_setfuncs(L, functions, 0);
    return 0;
}

int clua_bound_patterns(lua_State *L) {
    lua_pushcfunction(L, install);
    return lua_pcall(L, 0, 0, 0);
}
