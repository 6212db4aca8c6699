/// A value expression. A struct around an indirect enum so that every node has a `location`
/// without each case repeating it. The location is where PostgreSQL would point at the node: the
/// first token of a literal, name, call, CASE or CAST, and the operator token of an operator.
public struct Expression: Sendable, Hashable {
    public var kind: Kind {
        didSet { height = Self.height(of: kind) }
    }
    public var location: SourceLocation
    /// Levels in this tree, counting a subquery's levels (`Select.height`): what a recursive walk
    /// over it needs stack for. The parser refuses trees taller than `expressionDepthMax`. Derived
    /// from `kind` and kept up to date with it, so it never makes equal trees unequal.
    public private(set) var height: Int

    public init(_ kind: Kind, at location: SourceLocation = .synthesized) {
        self.kind = kind
        self.location = location
        self.height = Self.height(of: kind)
    }

    public indirect enum Kind: Sendable, Hashable {
        case literal(Literal)
        case column(ColumnReference)
        /// `$n`, `?n` or `?` (numbered as SQLite numbers it: one more than the largest so far). 1-based.
        case parameter(Int)
        case unary(UnaryOperator, Expression)
        case binary(BinaryOperator, Expression, Expression)
        /// `x IS [NOT] NULL`, `x ISNULL`, `x NOTNULL`, `x NOT NULL`
        case isNull(Expression, negated: Bool)
        /// `x [NOT] BETWEEN low AND high`
        case between(Expression, low: Expression, high: Expression, negated: Bool)
        /// `x [NOT] IN (a, b, ...)`; the list may be empty (SQLite allows `IN ()`).
        case inList(Expression, [Expression], negated: Bool)
        /// `x [NOT] IN (query)`; SQLite's `x IN table` parses to `x IN (SELECT * FROM table)`.
        case inSubquery(Expression, Select, negated: Bool)
        /// `EXISTS (query)`; NOT EXISTS is `.unary(.not, exists)`, which is what it means.
        case exists(Select)
        /// `(query)` used as a value.
        case subquery(Select)
        /// `x [NOT] LIKE|ILIKE pattern [ESCAPE escape]`
        case like(Expression, pattern: Expression, escape: Expression?, caseInsensitive: Bool, negated: Bool)
        /// `CASE [operand] WHEN ... THEN ... [ELSE ...] END`
        case caseWhen(operand: Expression?, branches: [CaseBranch], elseResult: Expression?)
        /// `CAST(x AS type)` and `x::type`
        case cast(Expression, TypeName)
        case function(FunctionCall)
        /// CURRENT_TIMESTAMP, CURRENT_DATE, CURRENT_TIME: keywords, not calls.
        case currentTime(CurrentTimeKeyword)
    }
}

public enum Literal: Sendable, Hashable {
    case null
    case boolean(Bool)
    case integer(Int64)
    /// A decimal literal with a point or exponent, or an integer literal too large for 64 bits
    /// (SQLite reads those as reals too).
    case real(Double)
    case string(String)
    /// `X'0A1b'`
    case blob([UInt8])
}

/// `column` or `table.column`.
public struct ColumnReference: Sendable, Hashable {
    public var table: Identifier?
    public var column: Identifier

    public init(table: Identifier? = nil, _ column: Identifier) {
        self.table = table
        self.column = column
    }
}

public enum UnaryOperator: Sendable, Hashable {
    /// `-x`
    case negate
    /// `+x` (SQLite's no-op, kept so the rendering reads as written)
    case plus
    case not
    /// `~x`
    case bitwiseNot
}

public enum BinaryOperator: Sendable, Hashable {
    case add, subtract, multiply, divide, modulo
    /// `||`
    case concatenate
    /// `=` and `==`
    case equal
    /// `<>` and `!=`
    case notEqual
    case less, lessOrEqual, greater, greaterOrEqual
    /// `IS` (SQLite: NULL-safe equality) and `IS NOT DISTINCT FROM`.
    case `is`
    /// `IS NOT` (SQLite) and `IS DISTINCT FROM`.
    case isNot
    case and, or
    case bitwiseAnd, bitwiseOr, shiftLeft, shiftRight
}

public struct CaseBranch: Sendable, Hashable {
    public var condition: Expression
    public var result: Expression

    public init(when condition: Expression, then result: Expression) {
        self.condition = condition
        self.result = result
    }
}

/// `name([DISTINCT] arguments)` or `name(*)`. Whether a call is an aggregate is the binder's
/// business: the parser knows names, not functions.
public struct FunctionCall: Sendable, Hashable {
    /// Lower-cased unless quoted, like any identifier.
    public var name: Identifier
    public var arguments: FunctionArguments
    public var distinct: Bool

    public init(_ name: Identifier, _ arguments: FunctionArguments, distinct: Bool = false) {
        self.name = name
        self.arguments = arguments
        self.distinct = distinct
    }
}

public enum FunctionArguments: Sendable, Hashable {
    /// `count(*)`
    case star
    case list([Expression])

    public var expressions: [Expression] {
        if case .list(let list) = self { list } else { [] }
    }
}

public enum CurrentTimeKeyword: String, Sendable, Hashable {
    case timestamp = "CURRENT_TIMESTAMP", date = "CURRENT_DATE", time = "CURRENT_TIME"
}

extension Expression {
    /// One more than the tallest child, from the children's stored heights (no walk).
    static func height(of kind: Kind) -> Int {
        switch kind {
        case .literal, .column, .parameter, .currentTime:
            return 1
        case .unary(_, let operand), .isNull(let operand, _), .cast(let operand, _):
            return operand.height + 1
        case .binary(_, let left, let right):
            return max(left.height, right.height) + 1
        case .between(let operand, let low, let high, _):
            return max(operand.height, low.height, high.height) + 1
        case .inList(let operand, let list, _):
            return list.reduce(operand.height) { max($0, $1.height) } + 1
        case .inSubquery(let operand, let query, _):
            return max(operand.height, query.height) + 1
        case .exists(let query), .subquery(let query):
            return query.height + 1
        case .like(let operand, let pattern, let escape, _, _):
            return max(operand.height, pattern.height, escape?.height ?? 0) + 1
        case .caseWhen(let operand, let branches, let elseResult):
            let tallest = branches.reduce(max(operand?.height ?? 0, elseResult?.height ?? 0)) {
                max($0, $1.condition.height, $1.result.height)
            }
            return tallest + 1
        case .function(let call):
            return call.arguments.expressions.reduce(0) { max($0, $1.height) } + 1
        }
    }

    public static func literal(_ value: Literal, at location: SourceLocation = .synthesized) -> Expression {
        Expression(.literal(value), at: location)
    }

    public static func column(_ name: String, table: String? = nil, at location: SourceLocation = .synthesized) -> Expression {
        Expression(.column(ColumnReference(table: table.map { Identifier($0, at: location) }, Identifier(name, at: location))),
                   at: location)
    }
}
