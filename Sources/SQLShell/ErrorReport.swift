/// An error from the server as the shell prints it: psql's verbose form (severity, SQLSTATE,
/// message), then the statement's line holding the error with a caret under its position, then
/// DETAIL and HINT.
public struct ErrorReport: Sendable, Equatable {
    public var severity: String
    public var sqlState: String?
    public var message: String
    /// 1-based character position in `statement`, as ErrorResponse's `P` field.
    public var position: Int?
    public var detail: String?
    public var hint: String?

    public init(severity: String = "ERROR", sqlState: String?, message: String, position: Int? = nil,
                detail: String? = nil, hint: String? = nil) {
        self.severity = severity
        self.sqlState = sqlState
        self.message = message
        self.position = position
        self.detail = detail
        self.hint = hint
    }

    /// The lines to print for this error about `statement`.
    public func rendered(statement: String?) -> String {
        var output = "\(severity):  " + (sqlState.map { "\($0): " } ?? "") + message + "\n"
        if let position, let statement, let caret = Self.caretLines(statement: statement, position: position) {
            output += caret
        }
        if let detail { output += "DETAIL:  \(detail)\n" }
        if let hint { output += "HINT:  \(hint)\n" }
        return output
    }

    /// `LINE n: <the line>` and a caret under character `position` (1-based, counted over the
    /// whole statement as PostgreSQL counts it), or nil when the position is outside the statement.
    static func caretLines(statement: String, position: Int) -> String? {
        let characters = Array(statement)
        guard position >= 1, position <= characters.count + 1 else { return nil }
        var lineNumber = 1
        var lineStart = 0
        for index in 0..<(position - 1) where characters[index] == "\n" {
            lineNumber += 1
            lineStart = index + 1
        }
        var lineEnd = lineStart
        while lineEnd < characters.count, characters[lineEnd] != "\n" { lineEnd += 1 }
        let prefix = "LINE \(lineNumber): "
        // A tab before the error would shift the caret; psql prints tabs as spaces here too.
        let line = String(characters[lineStart..<lineEnd]).replacingAll("\t", with: " ")
        let column = position - 1 - lineStart
        return prefix + line + "\n" + String(repeating: " ", count: prefix.count + column) + "^\n"
    }
}
