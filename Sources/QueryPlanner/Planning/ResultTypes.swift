/// The PostgreSQL type of each output column of a SELECT, as PostgreSQL would describe it in
/// RowDescription: a column its declared type, a CAST its target, count(*) int8, sum and avg as
/// PostgreSQL widens their argument, a literal int4/numeric/text. SQLite has no static types, so
/// the wire server needs these to send OIDs a driver decodes correctly; nil where the type is not
/// certain (the wire server then infers it from the values).
public struct ResultTypes: Sendable {
    public let catalog: any PlannerCatalog

    public init(catalog: any PlannerCatalog) {
        self.catalog = catalog
    }

    /// One type per output column of `select`, or nil for the statement's columns when their
    /// number cannot be known without running it (a `*` over a subquery).
    public func types(of select: Select) -> [PostgresType?]? {
        guard case .select(let core) = select.body.first else { return nil }
        let scope = Scope(core: core, catalog: catalog)
        var types: [PostgresType?] = []
        for item in core.items {
            switch item {
            case .expression(let expression, _):
                types.append(type(of: expression, in: scope))
            case .wildcard:
                guard let columns = scope.allColumns() else { return nil }
                types += columns.map { PostgresType(named: $0.declaredType) }
            case .tableWildcard(let qualifier):
                guard let table = scope.table(qualifiedBy: qualifier.name) else { return nil }
                types += table.columns.map { PostgresType(named: $0.declaredType) }
            }
        }
        return types
    }

    /// The tables a SELECT core reads, by the name its expressions qualify them with.
    struct Scope {
        var tables: [(qualifier: String, table: PlannerTable)] = []
        /// A subquery in FROM: its columns are not known here.
        var hasOpaqueSource = false

        init(core: SelectCore, catalog: any PlannerCatalog) {
            guard let from = core.from else { return }
            for reference in [from.first] + from.joins.map(\.table) {
                if case .table = reference {} else { hasOpaqueSource = true }
            }
            for (named, _) in Traversal.namedTables(from) {
                guard let table = catalog.table(named: named.name.name) else { hasOpaqueSource = true; continue }
                tables.append(((named.alias ?? named.name).name, table))
            }
        }

        func table(qualifiedBy qualifier: String) -> PlannerTable? {
            tables.first { $0.qualifier == qualifier }?.table
        }

        func allColumns() -> [PlannerColumn]? {
            hasOpaqueSource ? nil : tables.flatMap(\.table.columns)
        }

        func column(_ reference: ColumnReference) -> PlannerColumn? {
            if let qualifier = reference.table {
                return table(qualifiedBy: qualifier.name)?.column(named: reference.column.name)
            }
            let matches = tables.compactMap { $0.table.column(named: reference.column.name) }
            // Unqualified and ambiguous, or possibly a subquery's column: unknown.
            guard matches.count == 1, !hasOpaqueSource else { return nil }
            return matches[0]
        }
    }

    func type(of expression: Expression, in scope: Scope) -> PostgresType? {
        switch expression.kind {
        case .literal(let literal):
            switch literal {
            case .null, .string: return .text
            case .boolean: return .bool
            case .integer(let value): return Int32(exactly: value) != nil ? .int4 : .int8
            case .real: return .numeric
            case .blob: return .bytea
            }
        case .column(let reference):
            return scope.column(reference).flatMap { PostgresType(named: $0.declaredType) }
        case .parameter:
            return nil
        case .cast(_, let type):
            return PostgresType(named: type.name)
        case .unary(.not, _), .isNull, .between, .inList, .inSubquery, .exists, .like:
            return .bool
        case .unary(_, let operand):
            return type(of: operand, in: scope)
        case .binary(let op, let lhs, let rhs):
            switch op {
            case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .is, .isNot, .and, .or:
                return .bool
            case .concatenate:
                return .text
            case .add, .subtract, .multiply, .divide, .modulo, .bitwiseAnd, .bitwiseOr, .shiftLeft, .shiftRight:
                return Self.arithmetic(type(of: lhs, in: scope), type(of: rhs, in: scope))
            }
        case .caseWhen(_, let branches, let elseResult):
            let results = branches.map(\.result) + (elseResult.map { [$0] } ?? [])
            let known = results.filter { if case .literal(.null) = $0.kind { false } else { true } }.map { type(of: $0, in: scope) }
            guard let first = known.first, known.allSatisfy({ $0 == first }) else { return nil }
            return first
        case .subquery(let select):
            return types(of: select).flatMap { $0.count == 1 ? $0[0] : nil }
        case .function(let call):
            return functionType(call, in: scope)
        case .currentTime(let keyword):
            switch keyword {
            case .timestamp: return .timestamptz
            case .date: return .date
            case .time: return nil
            }
        }
    }

    /// PostgreSQL's result type of an arithmetic operator over two operand types (the widest
    /// of the two in int2 < int4 < int8 < numeric < float8); nil when either is unknown.
    static func arithmetic(_ lhs: PostgresType?, _ rhs: PostgresType?) -> PostgresType? {
        let order: [PostgresType] = [.int2, .int4, .int8, .numeric, .float4, .float8]
        guard let lhs, let rhs, let left = order.firstIndex(of: lhs), let right = order.firstIndex(of: rhs) else { return nil }
        return order[max(left, right)]
    }

    func functionType(_ call: FunctionCall, in scope: Scope) -> PostgresType? {
        let argument = call.arguments.expressions.first.flatMap { type(of: $0, in: scope) }
        switch call.name.name {
        case "count": return .int8
        case "sum":
            // PostgreSQL: sum(int2|int4) is int8, sum(int8|numeric) numeric, sum(float) float.
            switch argument {
            case .int2?, .int4?: return .int8
            case .int8?, .numeric?: return .numeric
            case .float4?, .float8?: return argument
            default: return nil
            }
        case "avg":
            switch argument {
            case .int2?, .int4?, .int8?, .numeric?: return .numeric
            case .float4?, .float8?: return .float8
            default: return nil
            }
        case "total": return .float8
        case "min", "max", "abs", "coalesce", "ifnull", "nullif":
            return argument
        case "length", "char_length", "octet_length", "instr", "strpos", "pg_backend_pid": return .int4
        case "lower", "upper", "trim", "ltrim", "rtrim", "substr", "substring", "replace", "concat", "group_concat",
             "string_agg", "version", "current_setting", "set_config", "format_type", "pg_get_userbyid",
             "pg_get_expr", "pg_get_indexdef", "pg_get_constraintdef", "obj_description", "col_description",
             "pg_encoding_to_char", "array_to_string", "typeof", "hex", "quote":
            return .text
        case "current_database", "current_schema", "current_user", "session_user", "user": return .name
        case "pg_table_is_visible", "has_table_privilege", "has_schema_privilege", "has_database_privilege",
             "has_column_privilege", "has_function_privilege", "pg_is_in_recovery":
            return .bool
        case "random": return .float8
        case "now", "statement_timestamp", "transaction_timestamp", "clock_timestamp": return .timestamptz
        default: return nil
        }
    }
}
