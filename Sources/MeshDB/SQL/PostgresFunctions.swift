import QueryPlanner

/// The PostgreSQL functions that psql and drivers call (version(), current_setting(),
/// pg_get_userbyid(), format_type()…) and the regex operators' function, installed in the
/// gateway's scratch database for one statement. They read the session (user, backend pid,
/// settings) and the catalog snapshot the statement was planned against, so they run at the
/// gateway only: the planner never sends a statement calling one to the shards
/// (`SelectPlanner.gatewayFunctions` names them).
struct PostgresFunctions {
    var user: String
    var backendPID: Int32
    /// Listed (`SessionSettings.all`, sorted and formatted) only when the functions are installed:
    /// most statements never need them, and a point read paid 1% of its CPU for the list.
    var settings: SessionSettings
    var catalog: CatalogStateMachine

    /// Longest regular expression `~` and friends accept: a pattern is compiled per statement,
    /// and its size bounds the work of compiling it.
    static let regexPatternBytesMax = 1_024

    func install(on connection: SQLiteConnection) throws(SQLiteError) {
        let user = user, pid = backendPID, settings = settings.all, catalog = catalog
        let text: (String) -> SQLiteFunctionBody = { value in { _ in .text(value) } }
        try connection.register(function: "version", argumentCount: 0, text("PostgreSQL \(MeshDBVersion.postgresCompatible), a Byzantine-fault-tolerant distributed SQL database"))
        for name in ["current_database", "current_catalog"] {
            try connection.register(function: name, argumentCount: 0, text(PostgresCatalog.databaseName))
        }
        try connection.register(function: "current_schema", argumentCount: 0, text("public"))
        try connection.register(function: "current_schemas", argumentCount: 1) { arguments in
            .text(Self.truth(arguments[0]) ? "{pg_catalog,public}" : "{public}")
        }
        for name in ["current_user", "session_user", "current_role", "user"] {
            try connection.register(function: name, argumentCount: 0, text(user))
        }
        try connection.register(function: "pg_backend_pid", argumentCount: 0) { _ in .integer(Int64(pid)) }
        for count: Int32 in [1, 2] {
            try connection.register(function: "current_setting", argumentCount: count) { arguments throws(SQLiteFunctionError) in
                guard case .text(let name) = arguments[0] else { return .null }
                if let setting = settings.first(where: { $0.name == name.lowercased() }) { return .text(setting.value) }
                if count == 2, Self.truth(arguments[1]) { return .null }
                throw SQLiteFunctionError("unrecognized configuration parameter \"\(name)\"")
            }
        }
        try connection.register(function: "pg_table_is_visible", argumentCount: 1) { arguments in
            // Every relation is in public or pg_catalog, both always on the search path.
            arguments[0] == .null ? .null : .integer(1)
        }
        try connection.register(function: "pg_is_in_recovery", argumentCount: 0) { _ in .integer(0) }
        // asyncpg's pool resets every released connection with it; MeshDB has no advisory locks,
        // so there is none to release (PostgreSQL's returns void: NULL here).
        try connection.register(function: "pg_advisory_unlock_all", argumentCount: 0) { _ in .null }
        try connection.register(function: "pg_get_userbyid", argumentCount: 1) { arguments in
            guard case .integer(let oid) = arguments[0] else { return .null }
            return .text(PostgresCatalog.roles(catalog).first { $0.oid == oid }?.name ?? "unknown (OID=\(oid))")
        }
        try connection.register(function: "format_type", argumentCount: 2) { arguments in
            guard case .integer(let oid) = arguments[0] else { return .null }
            guard let type = UInt32(exactly: oid).flatMap(PostgresType.init(oid:)) else { return .text("???") }
            guard case .integer(let modifier) = arguments[1] else { return .text(type.formatted()) }
            return .text(type.formatted(modifiers: Self.modifiers(modifier, type: type)))
        }
        for count: Int32 in [2, 3] {
            // MeshDB keeps expressions as their SQL text: that text is the decompiled form.
            try connection.register(function: "pg_get_expr", argumentCount: count) { arguments in arguments[0] }
        }
        for count: Int32 in [1, 3] {
            try connection.register(function: "pg_get_indexdef", argumentCount: count) { arguments in
                guard case .integer(let oid) = arguments[0], let index = PostgresCatalog.indexes(catalog).first(where: { $0.oid == oid }) else { return .null }
                // pg_get_indexdef(index, column, pretty): that key column's expression, its name.
                if count == 3, case .integer(let column) = arguments[1], column > 0 {
                    return column <= index.columns.count ? .text(index.columns[Int(column) - 1]) : .text("")
                }
                return .text(index.definition)
            }
        }
        for count: Int32 in [1, 2] {
            // psql's \d of a view shows its query: MeshDB keeps it as SQL text.
            try connection.register(function: "pg_get_viewdef", argumentCount: count) { arguments in
                guard case .integer(let oid) = arguments[0] else { return .null }
                return catalog.sortedViews.first { PostgresCatalog.oid("r", $0.name) == oid }.map { .text($0.sql) } ?? .null
            }
        }
        for count: Int32 in [1, 2] {
            try connection.register(function: "pg_get_constraintdef", argumentCount: count) { arguments in
                guard case .integer(let oid) = arguments[0],
                      let index = PostgresCatalog.indexes(catalog).first(where: { $0.constraintOID == oid }) else { return .null }
                return .text("\(index.constraint == "p" ? "PRIMARY KEY" : "UNIQUE") (\(index.columns.joined(separator: ", ")))")
            }
        }
        // MeshDB has no comments on objects.
        for (name, count): (String, Int32) in [("obj_description", 1), ("obj_description", 2), ("col_description", 2), ("shobj_description", 2)] {
            try connection.register(function: name, argumentCount: count) { _ in .null }
        }
        // Every user may do everything MeshDB supports: there are no GRANTs yet.
        for name in ["has_table_privilege", "has_schema_privilege", "has_database_privilege", "has_column_privilege",
                     "has_function_privilege", "has_any_column_privilege"] {
            try connection.register(function: name, argumentCount: -1) { _ in .integer(1) }
        }
        try connection.register(function: "pg_encoding_to_char", argumentCount: 1) { arguments in
            .text(arguments[0] == .integer(6) ? "UTF8" : "")
        }
        try connection.register(function: "array_to_string", argumentCount: 2) { arguments in
            // Arrays are kept in PostgreSQL's text form, `{a,b}`.
            guard case .text(let array) = arguments[0], case .text(let separator) = arguments[1] else { return .null }
            let inner = array.hasPrefix("{") && array.hasSuffix("}") ? String(array.dropFirst().dropLast()) : array
            return .text(inner.split(separator: ",", omittingEmptySubsequences: true).joined(separator: separator))
        }
        try connection.register(function: Parser.arrayContainsFunctionName, argumentCount: 2) { arguments in
            // `x = ANY(array)` over an array's text form: NULL for a NULL array or element, as in
            // PostgreSQL when nothing matches.
            guard case .text(let array) = arguments[0], arguments[1] != .null else { return .null }
            let needle: String = switch arguments[1] {
            case .integer(let number): String(number)
            case .real(let number): String(number)
            case .text(let text): text
            default: ""
            }
            let inner = array.hasPrefix("{") && array.hasSuffix("}") ? array.dropFirst().dropLast() : Substring(array)
            return .integer(inner.split(separator: ",").contains { $0 == needle } ? 1 : 0)
        }
        try connection.register(function: Parser.arrayElementFunctionName, argumentCount: 2) { arguments in
            guard case .integer(let index) = arguments[1], let elements = Self.arrayElements(arguments[0]),
                  index >= 1, index <= elements.count else { return .null }
            return .text(String(elements[Int(index) - 1]))
        }
        try connection.register(function: Parser.seriesGuardFunctionName, argumentCount: 1) { arguments throws(SQLiteFunctionError) in
            guard case .integer(let produced) = arguments[0], produced >= Parser.seriesRowsMax else { return .integer(1) }
            throw SQLiteFunctionError("generate_series of more than \(Parser.seriesRowsMax) rows exceeds series_rows_max = \(Parser.seriesRowsMax)")
        }
        try connection.register(function: "array_upper", argumentCount: 2) { arguments in
            guard arguments[1] == .integer(1), let elements = Self.arrayElements(arguments[0]), !elements.isEmpty else { return .null }
            return .integer(Int64(elements.count))
        }
        try connection.register(function: "pg_relation_is_publishable", argumentCount: 1) { arguments in
            // An ordinary user table could be published, as in PostgreSQL; MeshDB has no publications.
            guard case .integer(let oid) = arguments[0] else { return .null }
            return .integer(catalog.sortedTables.contains { PostgresCatalog.oid("r", $0.name) == oid } ? 1 : 0)
        }
        // MeshDB has no extended statistics objects (pg_statistic_ext is empty).
        try connection.register(function: "pg_get_statisticsobjdef_columns", argumentCount: 1) { _ in .null }
        let cache = RegexCache()
        try connection.register(function: Parser.regexFunctionName, argumentCount: 3) { arguments throws(SQLiteFunctionError) in
            guard case .text(let subject) = arguments[0], case .text(let pattern) = arguments[1] else {
                if arguments[0] == .null || arguments[1] == .null { return .null }
                throw SQLiteFunctionError("operator ~ takes text operands")
            }
            let regex = try cache.regex(pattern, caseInsensitive: Self.truth(arguments[2]))
            return .integer(subject.contains(regex) ? 1 : 0)
        }
    }

    /// The elements of a one-dimensional array in text form (`{a,b}`); nil for NULL or a value
    /// that is not an array.
    static func arrayElements(_ value: SQLiteValue) -> [Substring]? {
        guard case .text(let text) = value, text.hasPrefix("{"), text.hasSuffix("}") else { return nil }
        return text.dropFirst().dropLast().split(separator: ",")
    }

    /// The modifiers a typmod stands for (the inverse of `PostgresCatalog.typeModifier`).
    static func modifiers(_ modifier: Int64, type: PostgresType) -> [Int] {
        guard modifier >= 4 else { return [] }
        switch type {
        case .varchar, .bpchar: return [Int(modifier - 4)]
        case .numeric: return [Int((modifier - 4) >> 16), Int((modifier - 4) & 0xFFFF)]
        default: return []
        }
    }

    static func truth(_ value: SQLiteValue) -> Bool {
        switch value {
        case .integer(let number): number != 0
        case .real(let number): number != 0
        case .text(let text): ["t", "true", "on", "1", "yes"].contains(text.lowercased())
        default: false
        }
    }
}

/// Compiled patterns of one statement, by pattern text: a pattern compared with every row is
/// compiled once.
private final class RegexCache {
    private var compiled: [String: Regex<AnyRegexOutput>] = [:]
    /// Distinct patterns one statement may compile.
    static let patternsMax = 64

    func regex(_ pattern: String, caseInsensitive: Bool) throws(SQLiteFunctionError) -> Regex<AnyRegexOutput> {
        let key = (caseInsensitive ? "i:" : "c:") + pattern
        if let regex = compiled[key] { return regex }
        guard pattern.utf8.count <= PostgresFunctions.regexPatternBytesMax else {
            throw SQLiteFunctionError("regular expression of \(pattern.utf8.count) bytes exceeds regex_pattern_bytes_max = \(PostgresFunctions.regexPatternBytesMax)")
        }
        guard compiled.count < Self.patternsMax else {
            throw SQLiteFunctionError("a statement may use at most \(Self.patternsMax) distinct regular expressions")
        }
        do {
            var regex = try Regex(pattern)
            if caseInsensitive { regex = regex.ignoresCase() }
            compiled[key] = regex
            return regex
        } catch {
            throw SQLiteFunctionError("invalid regular expression: \(pattern)")
        }
    }
}
