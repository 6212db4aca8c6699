import Foundation
import SQLShell
import NIOSSL
import PostgresNIO

/// Where `meshdb bench` sends its load: a PostgreSQL URL, so one client measures MeshDB and
/// PostgreSQL alike — `postgresql://[user[:password]@]host[:port][/database][?sslmode=disable|require]`
/// (also `postgres://`; parsed by `meshdb sql`'s `ConnectionURL`, with its defaults: the demo) — or
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
        let url: ConnectionURL
        do {
            url = try ConnectionURL(parsing: text)
        } catch {
            throw BenchError("the target must be sqlite:PATH or a URL postgresql://[user[:password]@]host[:port][/database]: \(error)")
        }
        sqlitePath = nil
        host = url.host
        port = url.port
        user = url.user
        password = url.password
        database = url.database
        requireTLS = url.sslMode == .require
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
