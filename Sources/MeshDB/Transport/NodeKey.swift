public import Crypto
import Foundation

/// A node's (or a client's) Ed25519 identity. The public key is the identity other nodes know
/// from the cluster configuration; the private key never leaves the node's key file.
public struct NodeKey: Sendable {
    /// The 32-byte Ed25519 seed. Kept as bytes because swift-crypto's key type is not Sendable;
    /// the key is rebuilt for each signature (signatures are rare: handshakes and certificates).
    private let seed: [UInt8]
    public let publicKey: PublicKeyBytes

    public init(privateKey: Curve25519.Signing.PrivateKey) {
        self.seed = Array(privateKey.rawRepresentation)
        self.publicKey = PublicKeyBytes(privateKey.publicKey.rawRepresentation)
    }

    /// The private key, for components (PBFT authentication) that derive their own keys from it.
    public var privateKey: Curve25519.Signing.PrivateKey {
        // The seed came from a valid key, so rebuilding it cannot fail.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    /// A fresh random identity (for `meshdb init` and tests).
    public static func generate() -> NodeKey {
        NodeKey(privateKey: Curve25519.Signing.PrivateKey())
    }

    /// The key file's contents: the 32-byte seed in hex, one line.
    public var keyFileContents: String { hex(seed) + "\n" }

    /// Reads a key file written by `keyFileContents`.
    public init(keyFile path: String) throws(IdentityError) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .unreadable(path)
        }
        guard let seed = parseHex(text.trimmingCharacters(in: .whitespacesAndNewlines)), seed.count == 32,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        else {
            throw .malformed(path)
        }
        self.init(privateKey: key)
    }

    /// The X25519 key PBFT derives its pairwise MAC keys from (TOCS'02 §3.2), derived from the
    /// same seed so a node keeps one key file: SHA-256("meshdb-x25519-v1" ‖ seed).
    public var agreementPrivateKey: Curve25519.KeyAgreement.PrivateKey {
        // Any 32 bytes are a valid X25519 private key.
        try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: Array(SHA256.hash(data: Array("meshdb-x25519-v1".utf8) + seed)))
    }

    /// The public half of `agreementPrivateKey`, listed in the cluster configuration.
    public var agreementPublicKey: PublicKeyBytes { PublicKeyBytes(agreementPrivateKey.publicKey.rawRepresentation) }

    public func sign(_ message: [UInt8]) -> [UInt8] {
        // Signing fails only on a broken crypto backend; there is no input that makes it fail.
        Array(try! privateKey.signature(for: message))
    }
}

public enum IdentityError: Error, Sendable, Hashable, CustomStringConvertible {
    case unreadable(String)
    case malformed(String)

    public var description: String {
        switch self {
        case .unreadable(let path): "cannot read key file \(path)"
        case .malformed(let path): "key file \(path) does not hold a 64-hex-digit Ed25519 seed"
        }
    }
}

/// A 32-byte Ed25519 public key: how nodes and clients are named on the transport.
public struct PublicKeyBytes: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(_ bytes: some Sequence<UInt8>) { self.bytes = Array(bytes) }

    public init?(hex text: String) {
        guard let bytes = parseHex(text), bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    public var hex: String { MeshDB.hex(bytes) }
    /// The first 8 hex digits, for logs and errors.
    public var short: String { String(hex.prefix(8)) }
    public var description: String { short }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    public func verify(signature: [UInt8], of message: [UInt8]) -> Bool {
        guard bytes.count == 32, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: bytes) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

