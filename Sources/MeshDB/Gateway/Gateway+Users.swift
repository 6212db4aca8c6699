/// Users for PostgreSQL logins. A password becomes a SCRAM-SHA-256 verifier here, at the
/// gateway, with a fresh salt; only the verifier travels in the catalog command, so the
/// password is never ordered, replicated, logged or stored.
extension Gateway {
    @discardableResult
    public func createUser(name: String, password: String) async throws -> DDLResult {
        try DDLResult(try await catalogCommand(.createUser(CatalogUser(name: name, verifier: try Self.verifier(password)))))
    }

    /// Sets a new password (a new salt too).
    @discardableResult
    public func alterUser(name: String, password: String) async throws -> DDLResult {
        try DDLResult(try await catalogCommand(.alterUser(CatalogUser(name: name, verifier: try Self.verifier(password)))))
    }

    @discardableResult
    public func dropUser(name: String, ifExists: Bool = false) async throws -> DDLResult {
        try DDLResult(try await catalogCommand(.dropUser(name: name, ifExists: ifExists)))
    }

    /// The SCRAM-SHA-256 verifier of user `name` in this node's catalog replica, or nil when
    /// there is no such user: what the wire server authenticates a login against.
    public func userVerifier(name: String) async throws -> ScramVerifier? {
        try await catalog().user(named: name)?.verifier
    }

    /// Longest password accepted: PBKDF2 hashes it 4096 times per login.
    public static let passwordBytesMax = 1_024

    static func verifier(_ password: String) throws -> ScramVerifier {
        guard !password.isEmpty, password.utf8.count <= passwordBytesMax else {
            throw GatewayError(sqlState: "22023", message: "a password must be 1 to \(passwordBytesMax) bytes (password_bytes_max)")
        }
        return ScramVerifier(password: password, salt: ScramVerifier.randomSalt())
    }
}
