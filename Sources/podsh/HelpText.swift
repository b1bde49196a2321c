#if canImport(Glibc)
import Glibc
#endif

/// Levenshtein distance, for "did you mean".
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var row = Array(0...b.count)
    for i in 1...max(1, a.count) where i <= a.count {
        var previous = row[0]
        row[0] = i
        for j in 1...max(1, b.count) where j <= b.count {
            let substitution = previous + (a[i - 1] == b[j - 1] ? 0 : 1)
            previous = row[j]
            row[j] = min(substitution, row[j] + 1, row[j - 1] + 1)
        }
    }
    return row[b.count]
}

/// The terminal's width (stdout's, then `COLUMNS`), 80 when there is none.
func terminalColumns() -> Int {
    var size = winsize()
    if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col >= 40 { return Int(size.ws_col) }
    if let text = getenv("COLUMNS"), let columns = Int(String(cString: text)), columns >= 40 { return columns }
    return 80
}

/// `text` wrapped at `width`.
func paragraph(_ text: String, _ width: Int) -> String {
    var out = "", line = 0
    for word in text.split(separator: " ") {
        if line > 0 && line + 1 + word.count > width {
            out += "\n"
            line = 0
        }
        if line > 0 {
            out += " "
            line += 1
        }
        out += word
        line += word.count
    }
    return out + "\n"
}

/// `term` in a column of its own and `text` beside it, wrapped at `width` with a hanging indent.
func wrapped(_ term: String, _ text: String, _ width: Int) -> String {
    let indent = 2, column = min(30, width / 3)
    var out = String(repeating: " ", count: indent) + term
    var line = out.count
    if line + 2 > column {
        out += "\n"
        line = 0
    }
    out += String(repeating: " ", count: max(0, column - line))
    line = column
    var first = true
    for word in text.split(separator: " ") {
        if !first && line + 1 + word.count > width {
            out += "\n" + String(repeating: " ", count: column)
            line = column
            first = true
        }
        if !first {
            out += " "
            line += 1
        }
        out += word
        line += word.count
        first = false
    }
    return out + "\n"
}
