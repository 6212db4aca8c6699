/// The REPL's query buffer, fed one line at a time, as psql's lexer does it: a `;` outside quotes,
/// dollar quotes, comments and parentheses ends a statement; a backslash outside them starts a
/// backslash command that runs to the end of the line. What is left over waits for the next line,
/// and `continuation` says why, for the prompt (`meshdb'>` inside a string, `meshdb(>` inside
/// parentheses, ...).
///
/// Pure: no I/O, so every lexical corner is unit-tested without a terminal.
public struct InputScanner: Sendable {
    /// What a line produced, in order.
    public enum Item: Sendable, Equatable {
        /// A complete statement, with its `;`.
        case statement(String)
        /// A backslash command: the text from the backslash to the end of the line.
        case command(String)
    }

    /// Why the buffer is not empty after a line: psql's prompt characters.
    public enum Continuation: Character, Sendable, Equatable {
        case none = "="
        case statement = "-"
        case singleQuote = "'"
        case doubleQuote = "\""
        case dollarQuote = "$"
        case blockComment = "*"
        case parenthesis = "("
    }

    private enum Quote: Sendable, Equatable {
        case single(backslashEscapes: Bool)
        case double
        case dollar(tag: String)
    }

    /// The text of the statement being typed (lines joined by newlines), without its `;` yet.
    public private(set) var buffer = ""
    private var quote: Quote?
    private var commentDepth = 0
    private var parenthesisDepth = 0
    /// Whether the buffer holds anything but whitespace and comments: a lone `;` sends nothing.
    private var hasContent = false

    public init() {}

    public var isEmpty: Bool { !hasContent && quote == nil && commentDepth == 0 }

    public var continuation: Continuation {
        if commentDepth > 0 { return .blockComment }
        switch quote {
        case .single: return .singleQuote
        case .double: return .doubleQuote
        case .dollar: return .dollarQuote
        case nil: break
        }
        if parenthesisDepth > 0 { return .parenthesis }
        return hasContent ? .statement : .none
    }

    /// Empties the buffer (`\r`, Ctrl-C at the prompt).
    public mutating func reset() {
        self = InputScanner()
    }

    /// Replaces the buffer with `text` scanned afresh (after `\e`), returning what it completes.
    public mutating func load(_ text: String) -> [Item] {
        reset()
        var items: [Item] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            items += feed(line: String(line))
        }
        return items
    }

    /// The unfinished statement at the end of input (psql sends it as if it ended with `;`), or nil.
    public mutating func finish() -> String? {
        defer { reset() }
        guard hasContent else { return nil }
        return buffer.trimmingWhitespace()
    }

    /// Scans one line (without its newline).
    public mutating func feed(line: String) -> [Item] {
        var items: [Item] = []
        let characters = Array(line)
        var index = 0
        var pending = ""
        if !buffer.isEmpty || hasContent { pending = "\n" }

        func peek(_ offset: Int) -> Character? {
            index + offset < characters.count ? characters[index + offset] : nil
        }

        while index < characters.count {
            let character = characters[index]
            if commentDepth > 0 {
                if character == "*", peek(1) == "/" {
                    commentDepth -= 1
                    pending += "*/"
                    index += 2
                } else if character == "/", peek(1) == "*" {
                    commentDepth += 1
                    pending += "/*"
                    index += 2
                } else {
                    pending.append(character)
                    index += 1
                }
                continue
            }
            switch quote {
            case .single(let backslashEscapes):
                pending.append(character)
                index += 1
                if backslashEscapes, character == "\\", let next = peek(0) {
                    pending.append(next)
                    index += 1
                } else if character == "'" {
                    if peek(0) == "'" {
                        pending.append("'")
                        index += 1
                    } else {
                        quote = nil
                    }
                }
                continue
            case .double:
                pending.append(character)
                index += 1
                if character == "\"" {
                    if peek(0) == "\"" {
                        pending.append("\"")
                        index += 1
                    } else {
                        quote = nil
                    }
                }
                continue
            case .dollar(let tag):
                if character == "$", String(characters[index..<min(characters.count, index + tag.count)]) == tag {
                    pending += tag
                    index += tag.count
                    quote = nil
                } else {
                    pending.append(character)
                    index += 1
                }
                continue
            case nil:
                break
            }
            switch character {
            case "-" where peek(1) == "-":
                // A line comment keeps the rest of the line, backslashes and semicolons included.
                pending += String(characters[index...])
                index = characters.count
            case "/" where peek(1) == "*":
                commentDepth = 1
                pending += "/*"
                index += 2
            case "'":
                let previous = index > 0 ? characters[index - 1] : nil
                let escapes = (previous == "E" || previous == "e")
                    && (index < 2 || !Self.isIdentifierCharacter(characters[index - 2]))
                quote = .single(backslashEscapes: escapes)
                hasContent = true
                pending.append(character)
                index += 1
            case "\"":
                quote = .double
                hasContent = true
                pending.append(character)
                index += 1
            case "$":
                hasContent = true
                if let tag = Self.dollarTag(characters, at: index) {
                    quote = .dollar(tag: tag)
                    pending += tag
                    index += tag.count
                } else {
                    pending.append(character)
                    index += 1
                }
            case "(":
                parenthesisDepth += 1
                hasContent = true
                pending.append(character)
                index += 1
            case ")":
                parenthesisDepth = max(0, parenthesisDepth - 1)
                hasContent = true
                pending.append(character)
                index += 1
            case ";" where parenthesisDepth == 0:
                buffer += pending
                pending = ""
                if hasContent {
                    items.append(.statement(buffer.trimmingWhitespace() + ";"))
                }
                buffer = ""
                hasContent = false
                index += 1
            case "\\":
                buffer += pending
                pending = ""
                items.append(.command(String(characters[index...]).trimmingWhitespace()))
                index = characters.count
            default:
                if !character.isWhitespace { hasContent = true }
                pending.append(character)
                index += 1
            }
        }
        if hasContent || quote != nil || commentDepth > 0 {
            buffer += pending
        } else {
            // Whitespace and comments before any statement text are dropped, as psql does.
            buffer = ""
        }
        return items
    }

    /// `$tag$` (or `$$`) starting at `index`, unless the `$` continues an identifier or is a
    /// parameter (`$1`).
    private static func dollarTag(_ characters: [Character], at index: Int) -> String? {
        if index > 0, isIdentifierCharacter(characters[index - 1]) { return nil }
        var end = index + 1
        while end < characters.count, characters[end] != "$" {
            let character = characters[end]
            let valid = character == "_" || character.isLetter || (end > index + 1 && character.isNumber)
            guard valid else { return nil }
            end += 1
        }
        guard end < characters.count else { return nil }
        return String(characters[index...end])
    }

    static func isIdentifierCharacter(_ character: Character) -> Bool {
        character == "_" || character.isLetter || character.isNumber || character == "$"
    }
}

extension String {
    /// The string without leading and trailing whitespace and newlines.
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
