/// A PostgreSQL error code (SQLSTATE): five characters, the first two naming the class.
/// The wire server sends it in ErrorResponse; drivers branch on it.
public struct SQLState: Sendable, Hashable, CustomStringConvertible {
    public let code: String

    public init(_ code: String) {
        precondition(code.utf8.count == 5, "a SQLSTATE has five characters")
        self.code = code
    }

    public var description: String { code }

    public static let syntaxError = SQLState("42601")
    public static let undefinedTable = SQLState("42P01")
    public static let undefinedColumn = SQLState("42703")
    public static let duplicateTable = SQLState("42P07")
    public static let uniqueViolation = SQLState("23505")
    public static let notNullViolation = SQLState("23502")
    public static let checkViolation = SQLState("23514")
    public static let constraintViolation = SQLState("23000")
    public static let featureNotSupported = SQLState("0A000")
    public static let configurationLimitExceeded = SQLState("53400")
    public static let programLimitExceeded = SQLState("54000")
    public static let statementTooComplex = SQLState("54001")
    public static let undefinedObject = SQLState("42704")
    public static let invalidSchemaName = SQLState("3F000")
    public static let invalidParameterValue = SQLState("22023")
    public static let protocolViolation = SQLState("08P01")
    public static let queryCanceled = SQLState("57014")
    public static let dataCorrupted = SQLState("XX001")
    public static let ioError = SQLState("58030")
    public static let internalError = SQLState("XX000")
}

/// An error a statement or a message can end in, as a client sees it: code, message and, for
/// errors in statement text, the 1-based character position PostgreSQL reports.
public struct SQLError: Error, Sendable, Hashable, CustomStringConvertible {
    public let state: SQLState
    public let message: String
    public let position: Int?
    public let hint: String?

    public init(_ state: SQLState, _ message: String, position: Int? = nil, hint: String? = nil) {
        self.state = state
        self.message = message
        self.position = position
        self.hint = hint
    }

    public var description: String {
        var text = "\(state): \(message)"
        if let position { text += " (at character \(position))" }
        if let hint { text += "\nHINT: \(hint)" }
        return text
    }
}
