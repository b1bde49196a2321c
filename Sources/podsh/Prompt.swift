import ArgumentParser
import PodBackends
import PodCore
import PodLinux
import PodLua
import PodManifests
import PodshLine

#if canImport(Glibc)
import Glibc
#endif

/// The interactive prompt: lua.c's rules (a line is first tried as `return LINE`, `=expr` is
/// `return expr`, a chunk whose syntax error ends at `<eof>` continues on the next line),
/// results pretty-printed, Tab completion of globals, the `pod` API and a value's members,
/// history in `~/.podsh_history`, Ctrl-C stopping the running chunk, Ctrl-D leaving.
final class Prompt {
    let host: ScriptHost
    let backendName: String
    /// `--json`: results printed as JSON, one value per line.
    let json: Bool
    /// Colour only on a terminal, and never when NO_COLOR is set (no-color.org).
    let colour: Bool

    /// The prompt libedit's completion callback asks (it is a plain C function).
    nonisolated(unsafe) static var current: Prompt?

    init(host: ScriptHost, backendName: String, json: Bool) {
        (self.host, self.json, self.backendName) = (host, json, backendName)
        let noColor = getenv("NO_COLOR").map { String(cString: $0) } ?? ""
        colour = isatty(1) != 0 && noColor.isEmpty
    }

    func run() -> ExitCode {
        // Pods made at the prompt are stopped and removed however it ends.
        defer { host.runtime.close() }
        do {
            _ = try host.lua.run(
                Prompt.helpers, name: "=(podsh prompt)",
                arguments: [host.lua.podMemberNames.joined(separator: "\n"), json ? "json" : ""])
        } catch {
            stderrWrite("podsh: \(error.message)\n")
            return ExitCode(1)
        }
        Prompt.current = self
        let home = getenv("HOME").map { String(cString: $0) } ?? ""
        if home.isEmpty {
            podsh_line_setup(completeWord, nil)
        } else {
            podsh_line_setup(completeWord, home + "/.podsh_history")
        }
        stdoutWrite(
            "podsh \(PodCoreVersion.string) (\(LuaState.luaRelease)) on the \(backendName) backend; "
                + "Tab completes, Ctrl-C stops a chunk, Ctrl-D leaves.\n")
        var buffer = ""
        while true {
            let signals = podsh_sigint_count()
            guard let raw = podsh_line_read(buffer.isEmpty ? "> " : ">> ") else {
                stdoutWrite("\n")
                if podsh_quit_requested() != 0 { break }  // SIGTERM/SIGHUP: leave, removing the pods
                if podsh_sigint_count() != signals {
                    buffer = ""  // Ctrl-C at the prompt drops the line, as a shell does
                    continue
                }
                break
            }
            let line = String(cString: raw)
            free(raw)
            if buffer.isEmpty && line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            buffer = buffer.isEmpty ? line : buffer + "\n" + line
            if evaluate(buffer) == .incomplete { continue }
            podsh_line_add(buffer)
            buffer = ""
            if podsh_quit_requested() != 0 { break }
        }
        return .success
    }

    enum Outcome { case done, incomplete }

    /// Runs one chunk as lua.c does: as an expression (`return CHUNK`) when that compiles,
    /// otherwise as statements, printing what it returns either way.
    func evaluate(_ chunk: String) -> Outcome {
        var statements = chunk
        if statements.hasPrefix("=") { statements = "return " + statements.dropFirst() }
        let expression = statements.hasPrefix("return ") ? String(statements.dropFirst("return ".count)) : statements
        let run: String
        if compileError("return " + expression) == nil {
            run = "return _PODSH_SHOW(\(expression)\n)"
        } else if let message = compileError(statements) {
            if message.hasSuffix("<eof>") { return .incomplete }
            report(message)
            return .done
        } else {
            // Same first line, so messages keep the user's line numbers.
            run = "return _PODSH_SHOW((function(...) \(statements)\nend)(...))"
        }
        do {
            show(try host.lua.run(run, name: "=stdin"))
        } catch {
            report(error.message)
        }
        return .done
    }

    /// Lua's message when `source` does not compile.
    private func compileError(_ source: String) -> String? {
        guard let results = try? host.lua.run("return _PODSH_CHECK(...)", name: "=(prompt)", arguments: [source]),
            case .string(let message)? = results.first
        else { return nil }
        return message
    }

    private func show(_ results: [LuaValue]) {
        guard case .string(let text)? = results.first else { return }
        stdoutWrite(text + "\n")
    }

    private func report(_ text: String) {
        stderrWrite(colour ? "\u{1B}[31m\(text)\u{1B}[0m\n" : text + "\n")
    }

    /// The completions of `word` (`pri`, `pod.cr`, `p:st`, `t.inner.`), one per line.
    func completions(of word: String) -> String? {
        guard let results = try? host.lua.run("return _PODSH_COMPLETE(...)", name: "=(completion)", arguments: [word]),
            case .string(let list)? = results.first, !list.isEmpty
        else { return nil }
        return list
    }

    /// Lua helpers the prompt installs: `_PODSH_SHOW(...)` formats results (nested tables with
    /// sorted keys and marked cycles; a Pod with its status), `_PODSH_COMPLETE(word)` lists
    /// completions. `...` is the Pod member names, one per line.
    static let helpers = #"""
        local members, mode = ...
        local json = mode == "json"
        local podMembers = {}
        for name in (members or ""):gmatch("[^\n]+") do podMembers[#podMembers + 1] = name end
        local type, tostring, next, pcall, select, getmetatable, rawget, rawlen, ipairs, pairs =
              type, tostring, next, pcall, select, getmetatable, rawget, rawlen, ipairs, pairs
        local sort, concat, format, mathtype = table.sort, table.concat, string.format, math.type
        local keywords = {}
        for word in ("and break do else elseif end false for function goto if in local nil not or "
                     .. "repeat return then true until while"):gmatch("%a+") do keywords[word] = true end

        local function before(a, b)
          local ta, tb = type(a), type(b)
          if ta ~= tb then return ta == "number" or (ta == "string" and tb ~= "number") end
          if ta == "number" or ta == "string" then return a < b end
          return tostring(a) < tostring(b)
        end
        local function identifier(k)
          return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil and not keywords[k]
        end
        local function isPod(v) return type(v) == "userdata" and getmetatable(v) == "Pod" end

        local show
        local function showTable(t, indent, open)
          if open[t] then return "<cycle: " .. tostring(t) .. ">" end
          if next(t) == nil then return "{}" end
          open[t] = true
          local inner = indent .. "  "
          local items, n = {}, rawlen(t)
          for i = 1, n do items[#items + 1] = show(rawget(t, i), inner, open) end
          local keys = {}
          for k in next, t do
            if not (mathtype(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
          end
          sort(keys, before)
          for _, k in ipairs(keys) do
            local key = identifier(k) and k or ("[" .. show(k, inner, open) .. "]")
            items[#items + 1] = key .. " = " .. show(rawget(t, k), inner, open)
          end
          open[t] = nil
          local flat = "{ " .. concat(items, ", ") .. " }"
          if #flat <= 72 and not flat:find("\n") then return flat end
          return "{\n" .. inner .. concat(items, ",\n" .. inner) .. "\n" .. indent .. "}"
        end
        show = function(v, indent, open)
          local t = type(v)
          if t == "string" then return (format("%q", v):gsub("\\\n", "\\n")) end  -- "a\nb", not a line break
          if t == "table" then return showTable(v, indent, open) end
          if isPod(v) then
            local ok, status = pcall(v.status, v)
            if ok and type(status) == "table" then return tostring(v) .. " " .. showTable(status, indent, open) end
          end
          return tostring(v)
        end

        -- JSON (--json): objects with sorted keys, arrays for sequences, a cycle as a string.
        local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
        local function quote(s)
          return '"' .. s:gsub('[%c"\\]', function(c) return escapes[c] or format("\\u%04x", c:byte()) end) .. '"'
        end
        local toJSON
        local function tableJSON(t, open)
          if open[t] then return quote("<cycle: " .. tostring(t) .. ">") end
          open[t] = true
          local n, count = rawlen(t), 0
          for _ in next, t do count = count + 1 end
          local items = {}
          if count == n and n > 0 then
            for i = 1, n do items[i] = toJSON(rawget(t, i), open) end
            open[t] = nil
            return "[" .. concat(items, ",") .. "]"
          end
          local names, byName = {}, {}  -- JSON keys are strings: sorted as such
          for k in next, t do
            local name = tostring(k)
            names[#names + 1], byName[name] = name, k
          end
          sort(names)
          for _, name in ipairs(names) do items[#items + 1] = quote(name) .. ":" .. toJSON(rawget(t, byName[name]), open) end
          open[t] = nil
          return "{" .. concat(items, ",") .. "}"
        end
        toJSON = function(v, open)
          local t = type(v)
          if t == "nil" then return "null" end
          if t == "boolean" then return tostring(v) end
          if t == "number" then
            if mathtype(v) == "integer" then return tostring(v) end
            if v ~= v or v == math.huge or v == -math.huge then return "null" end
            return format("%.17g", v)
          end
          if t == "string" then return quote(v) end
          if t == "table" then return tableJSON(v, open) end
          if isPod(v) then
            local ok, status = pcall(v.status, v)
            if ok and type(status) == "table" then return tableJSON(status, open) end
          end
          return quote(tostring(v))
        end

        local load = load
        function _PODSH_CHECK(source)
          local chunk, message = load(source, "=stdin", "t")
          if not chunk then return message end
        end

        function _PODSH_SHOW(...)
          local n = select("#", ...)
          if n == 0 then return nil end
          local parts = {}
          for i = 1, n do
            local v = select(i, ...)
            if json then parts[i] = toJSON(v, {})
            else parts[i] = type(v) == "string" and v or show(v, "", {}) end
          end
          return concat(parts, json and "\n" or "\t")
        end

        function _PODSH_COMPLETE(word)
          local found, seen = {}, {}
          local function add(name, prefix, partial)
            if type(name) == "string" and identifier(name) and name:sub(1, #partial) == partial
               and name:sub(1, 7) ~= "_PODSH_" and not seen[name] then
              seen[name] = true
              found[#found + 1] = prefix .. name
            end
          end
          local path, sep, partial = word:match("^([%a_][%w_%.]*)([%.:])([%w_]*)$")
          if not path then
            for name in pairs(_G) do add(name, "", word) end
            for name in pairs(keywords) do add(name, "", word) end
          else
            local value = _G
            for name in path:gmatch("[^%.]+") do
              local ok, next_value = pcall(function() return value[name] end)
              if not ok then return "" end
              value = next_value
            end
            local prefix = path .. sep
            if isPod(value) then
              for _, name in ipairs(podMembers) do
                local isMethod = name ~= "name" and name ~= "uid"
                if isMethod == (sep == ":") then add(name, prefix, partial) end
              end
            elseif type(value) == "string" then
              for name in pairs(string) do add(name, prefix, partial) end
            elseif type(value) == "table" then
              local ok = pcall(function() for name in pairs(value) do add(name, prefix, partial) end end)
              if not ok then for name in next, value do add(name, prefix, partial) end end
            end
          end
          sort(found)
          return concat(found, "\n")
        end
        """#
}

/// libedit's completion callback: the current prompt's completions, from malloc.
private let completeWord: podsh_completer = { word in
    guard let word, let prompt = Prompt.current,
        let list = prompt.completions(of: String(cString: word))
    else { return nil }
    return strdup(list)
}
