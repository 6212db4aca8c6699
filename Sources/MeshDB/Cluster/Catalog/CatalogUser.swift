import Consensus
import Crypto

/// A SCRAM-SHA-256 password verifier (RFC 5802 §3, RFC 7677): what a server needs to check a
/// client's proof and to prove itself, and nothing from which the password can be read back
/// short of guessing it. The catalog stores and replicates this, never the password.
public struct ScramVerifier: Sendable, Hashable {
    /// PBKDF2 iterations; PostgreSQL's default (scram_iterations) is 4096.
    public var iterations: UInt32
    public var salt: [UInt8]
    /// H(ClientKey): checks the client's proof.
    public var storedKey: [UInt8]
    /// HMAC(SaltedPassword, "Server Key"): signs the server's final message.
    public var serverKey: [UInt8]

    public static let defaultIterations: UInt32 = 4096
    public static let saltBytes = 16
    static let keyBytes = SHA256.byteCount

    public init(iterations: UInt32, salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8]) {
        self.iterations = iterations
        self.salt = salt
        self.storedKey = storedKey
        self.serverKey = serverKey
    }

    /// The verifier of `password` with `salt`: SaltedPassword = PBKDF2-HMAC-SHA-256(password,
    /// salt, iterations); ClientKey = HMAC(SaltedPassword, "Client Key"); StoredKey =
    /// SHA-256(ClientKey); ServerKey = HMAC(SaltedPassword, "Server Key"). The password is used
    /// as its UTF-8 bytes (PostgreSQL applies SASLprep first, which leaves ASCII unchanged).
    public init(password: String, salt: [UInt8], iterations: UInt32 = defaultIterations) {
        precondition(iterations >= 1, "SCRAM needs at least one iteration")
        let salted = Self.pbkdf2(password: Array(password.utf8), salt: salt, iterations: iterations)
        let key = SymmetricKey(data: salted)
        let clientKey = Array(HMAC<SHA256>.authenticationCode(for: Array("Client Key".utf8), using: key))
        self.init(iterations: iterations, salt: salt, storedKey: Array(SHA256.hash(data: clientKey)),
                  serverKey: Array(HMAC<SHA256>.authenticationCode(for: Array("Server Key".utf8), using: key)))
    }

    /// Whether `password` is this verifier's (the cleartext password method): derived again with
    /// the stored salt and iterations, and compared by stored key.
    public func matches(password: String) -> Bool {
        ScramVerifier(password: password, salt: salt, iterations: iterations).storedKey == storedKey
    }

    /// A fresh random salt, drawn at the gateway so every replica stores the same verifier.
    public static func randomSalt() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<saltBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// PBKDF2 (RFC 8018 §5.2) for one block: SHA-256's output is exactly the key length SCRAM uses.
    static func pbkdf2(password: [UInt8], salt: [UInt8], iterations: UInt32) -> [UInt8] {
        let key = SymmetricKey(data: password)
        var block = Array(HMAC<SHA256>.authenticationCode(for: salt + [0, 0, 0, 1], using: key))
        var result = block
        for _ in 1..<iterations {
            block = Array(HMAC<SHA256>.authenticationCode(for: block, using: key))
            for index in result.indices { result[index] ^= block[index] }
        }
        return result
    }

    /// PostgreSQL's text form (pg_authid.rolpassword): `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`,
    /// base64 each.
    public var postgresText: String {
        "SCRAM-SHA-256$\(iterations):\(Base64.encode(salt))$\(Base64.encode(storedKey)):\(Base64.encode(serverKey))"
    }
}

/// A user that can log in over the PostgreSQL protocol.
public struct CatalogUser: Sendable, Hashable {
    public var name: String
    public var verifier: ScramVerifier

    public init(name: String, verifier: ScramVerifier) {
        self.name = name
        self.verifier = verifier
    }
}

/// Standard base64 (RFC 4648 §4) with padding, for SCRAM's text forms.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
            for position in 0..<4 {
                output.append(position <= chunk.count ? alphabet[Int(value >> (18 - 6 * UInt32(position)) & 0x3F)] : UInt8(ascii: "="))
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}

extension ByteWriter {
    mutating func write(_ user: CatalogUser) {
        writeText(user.name)
        write(user.verifier.iterations)
        writeBytes(user.verifier.salt)
        writeBytes(user.verifier.storedKey)
        writeBytes(user.verifier.serverKey)
    }
}

extension ByteReader {
    mutating func readUser(_ limits: CatalogLimits) throws(DecodeError) -> CatalogUser {
        let name = try readText("user name", bytesMax: limits.nameBytesMax)
        let iterations = try readU32("SCRAM iterations")
        guard iterations >= 1, iterations <= limits.scramIterationsMax else {
            throw .invalidValue(field: "SCRAM iterations", reason: "\(iterations) is outside 1...\(limits.scramIterationsMax) (scram_iterations_max)")
        }
        let salt = try readBytes("SCRAM salt", limit: limits.scramSaltBytesMax)
        let storedKey = try readBytes("SCRAM stored key", limit: ScramVerifier.keyBytes)
        let serverKey = try readBytes("SCRAM server key", limit: ScramVerifier.keyBytes)
        guard !salt.isEmpty, storedKey.count == ScramVerifier.keyBytes, serverKey.count == ScramVerifier.keyBytes else {
            throw .invalidValue(field: "SCRAM verifier", reason: "an empty salt or a key that is not \(ScramVerifier.keyBytes) bytes")
        }
        return CatalogUser(name: name, verifier: ScramVerifier(iterations: iterations, salt: salt, storedKey: storedKey, serverKey: serverKey))
    }
}
