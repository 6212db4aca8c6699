import Foundation
import NIOSSL
import PostgresNIO

/// Where `meshdb bench` sends its load: a PostgreSQL URL, so one client measures MeshDB and
/// PostgreSQL alike — `postgresql://[user[:password]@]host[:port][/database][?sslmode=disable|require]`
/// (also `postgres://`; defaults: user `meshdb`, port 5433 (the demo), database = user) — or
/// `sqlite:PATH` for raw SQLite in this process, the single-node baseline.
struct BenchTarget: Sendable, Equatable, CustomStringConvertible {
    /// Set for an SQLite target: the database file.
    var sqlitePath: String?
    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String
    var requireTLS: Bool

    static let defaultURL = "postgresql://meshdb@127.0.0.1:5433/meshdb"

    init(url text: String) throws(BenchError) {
        if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard !path.isEmpty else { throw BenchError("an SQLite target names its file: sqlite:PATH, got \"\(text)\"") }
            sqlitePath = path
            host = ""
            port = 0
            user = ""
            password = nil
            database = path
            requireTLS = false
            return
        }
        guard let url = URLComponents(string: text), let scheme = url.scheme, ["postgresql", "postgres"].contains(scheme) else {
            throw BenchError("the target must be a URL postgresql://[user[:password]@]host[:port][/database], got \"\(text)\"")
        }
        guard let host = url.host, !host.isEmpty else { throw BenchError("the target URL \"\(text)\" names no host") }
        self.host = host
        port = url.port ?? 5433
        guard (1...65_535).contains(port) else { throw BenchError("port \(port) is outside 1...65535") }
        user = url.user.flatMap { $0.removingPercentEncoding } ?? "meshdb"
        password = url.password.flatMap { $0.removingPercentEncoding }
        let path = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        database = path.isEmpty ? user : (path.removingPercentEncoding ?? path)
        switch url.queryItems?.first(where: { $0.name == "sslmode" })?.value {
        case nil, "disable", "allow", "prefer": requireTLS = false
        case "require": requireTLS = true
        case let other?: throw BenchError("sslmode=\(other) is not supported: use disable or require")
        }
    }

    var description: String {
        if let sqlitePath { return "sqlite:\(sqlitePath)" }
        return "\(user)@\(host):\(port)/\(database)"
    }

    var dialect: Workload.Dialect { sqlitePath == nil ? .postgres : .sqlite }

    func connect(id: Int) async throws -> any BenchConnection {
        if let sqlitePath { return try SQLiteBenchConnection(path: sqlitePath, client: id) }
        return PostgresBenchConnection(connection: try await connectPostgres(id: id))
    }

    func connectPostgres(id: Int) async throws -> PostgresConnection {
        let tls: PostgresConnection.Configuration.TLS
        if requireTLS {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            tls = .require(try NIOSSLContext(configuration: configuration))
        } else {
            tls = .disable
        }
        let configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password,
                                                             database: database, tls: tls)
        return try await PostgresConnection.connect(configuration: configuration, id: id, logger: BenchLog.quiet)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
