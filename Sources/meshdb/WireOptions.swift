import ArgumentParser
import MeshWire

/// The PostgreSQL server's options, shared by `meshdb start` and `meshdb demo`.
struct WireOptions: ParsableArguments {
    @Option(name: .customLong("pg-auth"), help: "Client authentication: trust, password (cleartext) or scram-sha-256.")
    var authentication = "trust"

    @Option(name: .customLong("pg-user"), help: "A user as NAME:PASSWORD for the password methods (repeatable).")
    var users: [String] = []

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: with --tls-key, clients may use TLS (sslmode=require).")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    @Option(name: .customLong("max-connections"), help: "Most PostgreSQL connections per node.")
    var maxConnections = 100

    @Option(name: .customLong("statement-timeout"), help: "Seconds a statement may run before it is canceled (0: no limit).")
    var statementTimeoutSeconds = 0

    @Option(name: .customLong("idle-session-timeout"), help: "Seconds an idle session stays open (0: no limit).")
    var idleSessionTimeoutSeconds = 0

    func validate() throws {
        _ = try serverOptions()
    }

    func serverOptions() throws -> PostgresServer.Options {
        var options = PostgresServer.Options()
        switch authentication.lowercased() {
        case "trust": options.authentication = .trust
        case "password": options.authentication = .cleartextPassword
        case "scram-sha-256", "scram": options.authentication = .scramSHA256
        default: throw ValidationError("--pg-auth must be trust, password or scram-sha-256, not \(authentication)")
        }
        for user in users {
            guard let colon = user.firstIndex(of: ":"), colon != user.startIndex else {
                throw ValidationError("--pg-user takes NAME:PASSWORD, got \(user)")
            }
            options.addUser(String(user[..<colon]), password: String(user[user.index(after: colon)...]))
        }
        guard (tlsCertificate == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        options.tlsCertificatePath = tlsCertificate
        options.tlsPrivateKeyPath = tlsKey
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
        options.maxConnections = maxConnections
        if statementTimeoutSeconds > 0 { options.statementTimeout = .seconds(statementTimeoutSeconds) }
        if idleSessionTimeoutSeconds > 0 { options.idleSessionTimeout = .seconds(idleSessionTimeoutSeconds) }
        return options
    }
}
