import QueryPlanner

/// A session's settings (SET / SHOW). MeshDB's own live under `mesh.`; the ones drivers set on
/// connect (client_encoding, DateStyle, application_name, extra_float_digits…) are kept and shown
/// back, as PostgreSQL does, even where MeshDB's behaviour does not depend on them.
struct SessionSettings: Sendable {
    var readConsistency = Gateway.ReadConsistency.verified
    /// Most bytes of rows one statement may hold at the gateway (gathered rows, scratch tables).
    var workMemBytes = 256 << 20
    /// How long a transaction block may wait between statements before its shard group aborts
    /// it (PostgreSQL's idle_in_transaction_session_timeout; 0 asks for the longest allowed).
    var idleInTransactionTimeoutMillis = SQLSession.idleInTransactionTimeoutDefaultMillis
    /// blob_inline_max: a bytea value of more bytes leaves the row for the chunk store.
    var blobInlineMax = BlobStrategy.inlineMaxDefault
    /// statement_timeout in milliseconds, 0 for none: the wire server cancels a statement that
    /// runs longer (57014), as it does at the server's own --statement-timeout.
    var statementTimeoutMillis: UInt64 = 0
    /// Longest statement_timeout: a day.
    static let statementTimeoutMillisMax: UInt64 = 86_400_000
    /// Values of settings that only echo back, by lower-cased name.
    private var others: [String: String] = [
        "client_encoding": "UTF8", "datestyle": "ISO, MDY", "timezone": "UTC", "application_name": "",
        "standard_conforming_strings": "on", "integer_datetimes": "on", "search_path": "public",
        "extra_float_digits": "1", "server_encoding": "UTF8", "transaction_isolation": "serializable",
    ]

    static let workMemMax = 8 << 30
    /// Largest blob_inline_max, the default: a row travels in one shard operation
    /// (operation_bytes_max = 128 KiB), which must hold the value and the rest of the row.
    static let blobInlineMaxMax = 64 << 10
    /// Longest value a setting may take.
    static let valueBytesMax = 1_024

    mutating func set(_ rawName: String, to value: String) throws(SQLError) {
        let name = rawName.lowercased()
        guard value.utf8.count <= Self.valueBytesMax else {
            throw SQLError(.init("22023"), "value for \(name) is longer than the \(Self.valueBytesMax)-byte limit for settings")
        }
        switch name {
        case "mesh.read_consistency":
            guard let consistency = Gateway.ReadConsistency(rawValue: value.lowercased()) else {
                throw SQLError(.init("22023"), "invalid value for parameter \"mesh.read_consistency\": \"\(value)\"",
                               hint: "Available values: local, verified, linearizable.")
            }
            readConsistency = consistency
        case "work_mem", "mesh.work_mem":
            guard let bytes = Self.parseBytes(value), bytes >= 64 << 10, bytes <= Self.workMemMax else {
                throw SQLError(.init("22023"), "invalid value for parameter \"work_mem\": \"\(value)\"",
                               hint: "Give a size between 64kB and 8GB, such as 64MB.")
            }
            workMemBytes = bytes
        case "mesh.blob_inline_max":
            guard let bytes = Self.parseBytes(value), bytes >= 0, bytes <= Self.blobInlineMaxMax else {
                throw SQLError(.init("22023"), "invalid value for parameter \"mesh.blob_inline_max\": \"\(value)\"",
                               hint: "Give a size from 0 to 64kB (a row must fit one shard operation), such as 16kB.")
            }
            blobInlineMax = bytes
        case "client_encoding":
            // MeshDB reads and writes UTF-8 only: a driver told anything else would encode text
            // the server then misreads. Spelled as PostgreSQL's clean_encoding_name reads it.
            let cleaned = String(value.lowercased().filter { $0.isLetter || $0.isNumber })
            guard cleaned == "utf8" || cleaned == "unicode" else {
                throw SQLError(.init("22023"), "invalid value for parameter \"client_encoding\": \"\(value)\"",
                               hint: "MeshDB speaks UTF8 only.")
            }
            others[name] = "UTF8"
        case "datestyle":
            // Output is always ISO; the order only steers input, which MeshDB reads as ISO.
            let parts = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
            let order = parts.first { ["MDY", "DMY", "YMD", "EURO", "EUROPEAN", "US", "NONEURO", "NONEUROPEAN"].contains($0) }
            guard parts.allSatisfy({ $0 == "ISO" || $0 == order }), !parts.isEmpty else {
                throw SQLError(.init("22023"), "invalid value for parameter \"DateStyle\": \"\(value)\"",
                               hint: "MeshDB writes dates as ISO only: ISO, MDY; ISO, DMY or ISO, YMD.")
            }
            let canonical = switch order { case "DMY", "EURO", "EUROPEAN": "DMY"; case "YMD": "YMD"; default: "MDY" }
            others[name] = "ISO, \(canonical)"
        case "intervalstyle":
            guard value.lowercased() == "postgres" else {
                throw SQLError(.init("22023"), "invalid value for parameter \"IntervalStyle\": \"\(value)\"", hint: "MeshDB supports postgres only.")
            }
            others[name] = "postgres"
        case "timezone":
            // Accepted from any client (JDBC sends its JVM's zone), but MeshDB keeps and shows
            // every time in UTC, so that is what the setting says.
            others[name] = "UTC"
        case "statement_timeout":
            guard let millis = Self.parseMillis(value), millis <= Self.statementTimeoutMillisMax else {
                throw SQLError(.init("22023"), "invalid value for parameter \"statement_timeout\": \"\(value)\"",
                               hint: "Give a duration up to 24h, such as 30s or 500ms (a plain number is milliseconds); 0 turns it off.")
            }
            statementTimeoutMillis = millis
        case "idle_in_transaction_session_timeout":
            let longest = ShardTransactionTable.Limits().idleTimeoutMillisMax
            guard let millis = Self.parseMillis(value), millis <= longest else {
                throw SQLError(.init("22023"), "invalid value for parameter \"idle_in_transaction_session_timeout\": \"\(value)\"",
                               hint: "Give a duration up to 1h, such as 30s or 500ms; 0 means the longest, 1h.")
            }
            idleInTransactionTimeoutMillis = millis == 0 ? longest : millis
        default:
            guard others.count < 256 || others[name] != nil else {
                throw SQLError(.configurationLimitExceeded, "a session keeps at most 256 settings")
            }
            others[name] = value
        }
    }

    func show(_ rawName: String) throws(SQLError) -> String {
        let name = rawName.lowercased()
        switch name {
        case "mesh.read_consistency": return readConsistency.rawValue
        case "work_mem", "mesh.work_mem": return Self.formatBytes(workMemBytes)
        case "idle_in_transaction_session_timeout": return "\(idleInTransactionTimeoutMillis)ms"
        case "statement_timeout": return statementTimeoutMillis == 0 ? "0" : "\(statementTimeoutMillis)ms"
        case "mesh.blob_inline_max": return Self.formatBytes(blobInlineMax)
        case "server_version": return MeshDBVersion.postgresCompatible
        case "mesh.version": return MeshDBVersion.string
        default:
            guard let value = others[name] else {
                throw SQLError(.init("42704"), "unrecognized configuration parameter \"\(name)\"")
            }
            return value
        }
    }

    /// Every setting SHOW knows with its value, by name: pg_settings and current_setting().
    var all: [(name: String, value: String)] {
        let own = [("mesh.blob_inline_max", Self.formatBytes(blobInlineMax)), ("mesh.read_consistency", readConsistency.rawValue), ("mesh.version", MeshDBVersion.string),
                   ("server_version", MeshDBVersion.postgresCompatible), ("work_mem", Self.formatBytes(workMemBytes)),
                   ("statement_timeout", statementTimeoutMillis == 0 ? "0" : "\(statementTimeoutMillis)ms")]
        return (own + others.map { ($0.key, $0.value) }).sorted { $0.0 < $1.0 }
    }

    /// A new session's settings, by name.
    static var defaults: [(name: String, value: String)] { SessionSettings().all }

    /// "64MB", "512kB", "1GB" or a plain number of kilobytes, as PostgreSQL reads work_mem.
    static func parseBytes(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Int)] = [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("b", 1)]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            guard let number = Int(trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)) else { return nil }
            let (bytes, overflow) = number.multipliedReportingOverflow(by: scale)
            return overflow ? nil : bytes
        }
        guard let kilobytes = Int(trimmed) else { return nil }
        let (bytes, overflow) = kilobytes.multipliedReportingOverflow(by: 1024)
        return overflow ? nil : bytes
    }

    /// "500ms", "30s", "5min", "1h" or a plain number of milliseconds, as PostgreSQL reads
    /// time settings.
    static func parseMillis(_ text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, UInt64)] = [("ms", 1), ("min", 60_000), ("s", 1_000), ("h", 3_600_000)]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            guard let number = UInt64(trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)) else { return nil }
            let (millis, overflow) = number.multipliedReportingOverflow(by: scale)
            return overflow ? nil : millis
        }
        return UInt64(trimmed)
    }

    static func formatBytes(_ bytes: Int) -> String {
        if bytes == 0 || bytes % (1 << 10) != 0 { return "\(bytes)B" }
        if bytes % (1 << 30) == 0 { return "\(bytes >> 30)GB" }
        if bytes % (1 << 20) == 0 { return "\(bytes >> 20)MB" }
        return "\(bytes >> 10)kB"
    }
}

