/// The SQL the catalog stores for the shards to run (a table's shard DDL, an index's CREATE
/// INDEX, an ADD COLUMN) is checked when the command executes, before anything changes: each
/// statement must pass the shards' own `StatementGuard` and start with the words that make it
/// the statement it claims to be. A planner bug then fails the DDL with a clear error instead of
/// leaving a catalog entry that the shards refuse or that means another object. The check is
/// lexical (the catalog runs no SQLite); SQLite itself checks the rest on every shard.
extension CatalogStateMachine {
    typealias Token = StatementGuard.Token

    static func checkShardDDL(_ spec: CatalogTableSpec, _ limits: CatalogLimits) throws(CatalogError) {
        guard spec.shardDDL.count <= limits.shardDDLStatementsMax else {
            throw .limit("table \"\(spec.name)\" has \(spec.shardDDL.count) shard DDL statements; shard_ddl_statements_max = \(limits.shardDDLStatementsMax)")
        }
        for (position, sql) in spec.shardDDL.enumerated() {
            let what = "shard DDL statement \(position + 1) of \"\(spec.name)\""
            let tokens = try shardTokens(sql, what, limits)
            if position == 0 {
                var rest = tokens[...]
                guard take(["CREATE", "TABLE"], from: &rest), skipIf(["NOT", "EXISTS"], in: &rest),
                      takeName(spec.name, from: &rest) else {
                    throw .invalidDefinition("\(what) must begin CREATE TABLE \(spec.name)")
                }
            }
            if spec.hasHiddenRowID, zip(tokens, tokens.dropFirst()).contains(where: { $0 == .word("WITHOUT") && $1 == .word("ROWID") }) {
                throw .invalidDefinition("\(what): a table without a primary key or shard key is routed by its rowid, so it cannot be WITHOUT ROWID")
            }
        }
    }

    static func checkIndexSQL(_ index: CatalogIndex, _ limits: CatalogLimits) throws(CatalogError) {
        let what = "the statement of index \"\(index.name)\""
        var rest = try shardTokens(index.sql, what, limits)[...]
        guard take(["CREATE"], from: &rest) else { throw .invalidDefinition("\(what) must begin CREATE INDEX") }
        let saysUnique = take(["UNIQUE"], from: &rest)
        guard take(["INDEX"], from: &rest), skipIf(["NOT", "EXISTS"], in: &rest), takeName(index.name, from: &rest),
              take(["ON"], from: &rest), takeName(index.table, from: &rest) else {
            throw .invalidDefinition("\(what) must begin CREATE \(index.unique ? "UNIQUE " : "")INDEX \(index.name) ON \(index.table)")
        }
        guard saysUnique == index.unique else {
            throw .invalidDefinition("\(what) \(saysUnique ? "says" : "lacks") UNIQUE, but the index is \(index.unique ? "" : "not ")unique")
        }
    }

    static func checkAddColumnSQL(_ sql: String, table: String, column: String, _ limits: CatalogLimits) throws(CatalogError) {
        let what = "the ADD COLUMN statement for \"\(table)\""
        var rest = try shardTokens(sql, what, limits)[...]
        guard take(["ALTER", "TABLE"], from: &rest), takeName(table, from: &rest), take(["ADD"], from: &rest) else {
            throw .invalidDefinition("\(what) must begin ALTER TABLE \(table) ADD COLUMN \(column)")
        }
        _ = take(["COLUMN"], from: &rest)
        guard takeName(column, from: &rest) else {
            throw .invalidDefinition("\(what) must add column \(column)")
        }
    }

    /// The statement's tokens, once the shards' guard has let it through.
    private static func shardTokens(_ sql: String, _ what: String, _ limits: CatalogLimits) throws(CatalogError) -> [Token] {
        guard sql.utf8.count <= limits.sqlBytesMax else {
            throw .limit("\(what) is \(sql.utf8.count) bytes; sql_bytes_max = \(limits.sqlBytesMax)")
        }
        if let refusal = StatementGuard.refusalForWrite(sql) {
            throw .invalidDefinition("\(what) would be refused by the shards: \(refusal)")
        }
        guard case .success(let tokens) = StatementGuard.tokenize(sql) else {
            preconditionFailure("a statement the guard accepts tokenizes")
        }
        return tokens
    }

    /// Consumes `words` (uppercase keywords) when the tokens start with them.
    private static func take(_ words: [String], from tokens: inout ArraySlice<Token>) -> Bool {
        guard tokens.starts(with: words.map { Token.word($0) }) else { return false }
        tokens.removeFirst(words.count)
        return true
    }

    /// Consumes an optional `IF <words>` clause; false only for an IF not followed by them.
    private static func skipIf(_ words: [String], in tokens: inout ArraySlice<Token>) -> Bool {
        guard take(["IF"], from: &tokens) else { return true }
        return take(words, from: &tokens)
    }

    /// Consumes the identifier `name`, bare (SQLite folds case) or quoted (exact).
    private static func takeName(_ name: String, from tokens: inout ArraySlice<Token>) -> Bool {
        switch tokens.first {
        case .word(let word)? where word == name.uppercased(): break
        case .quotedIdentifier(let quoted)? where quoted == name: break
        default: return false
        }
        tokens.removeFirst()
        return true
    }
}
