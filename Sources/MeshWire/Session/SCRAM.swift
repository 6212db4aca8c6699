import Crypto
import Foundation
public import MeshDB
public import QueryPlanner

/// The server side of one SCRAM-SHA-256 exchange, without channel binding (the server offers only
/// SCRAM-SHA-256, not -PLUS). Pure: the server nonce comes from the caller.
public struct SCRAM: Sendable {
    public let verifier: ScramVerifier
    private let serverNonce: String
    private var clientFirstBare = ""
    private var serverFirst = ""
    private var gs2Header = ""
    private var nonce = ""

    public init(verifier: ScramVerifier, serverNonce: String) {
        self.verifier = verifier
        self.serverNonce = serverNonce
    }

    static func fail(_ message: String) -> SQLError {
        SQLError(.protocolViolation, "malformed SCRAM message: \(message)")
    }

    /// client-first-message → server-first-message.
    public mutating func receiveClientFirst(_ data: [UInt8]) throws(SQLError) -> [UInt8] {
        guard let message = String(validating: data, as: UTF8.self) else { throw Self.fail("client-first-message is not UTF-8") }
        let parts = message.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw Self.fail("client-first-message needs a GS2 header and attributes") }
        switch parts[0] {
        case "n", "y": break
        case let flag where flag.hasPrefix("p="):
            throw Self.fail("channel binding was requested, but the server offers SCRAM-SHA-256 without it")
        default: throw Self.fail("unknown channel binding flag \"\(parts[0])\"")
        }
        gs2Header = "\(parts[0]),\(parts[1]),"
        clientFirstBare = String(parts[2])
        let attributes = Self.attributes(clientFirstBare)
        guard let clientNonce = attributes["r"], !clientNonce.isEmpty else { throw Self.fail("client-first-message has no nonce") }
        nonce = clientNonce + serverNonce
        serverFirst = "r=\(nonce),s=\(Data(verifier.salt).base64EncodedString()),i=\(verifier.iterations)"
        return Array(serverFirst.utf8)
    }

    /// client-final-message → server-final-message, or 28P01 when the proof is wrong.
    public func receiveClientFinal(_ data: [UInt8], user: String) throws(SQLError) -> [UInt8] {
        guard let message = String(validating: data, as: UTF8.self) else { throw Self.fail("client-final-message is not UTF-8") }
        guard let proofStart = message.range(of: ",p=") else { throw Self.fail("client-final-message has no proof") }
        let withoutProof = String(message[..<proofStart.lowerBound])
        let attributes = Self.attributes(withoutProof)
        guard attributes["c"] == Data(gs2Header.utf8).base64EncodedString() else {
            throw Self.fail("channel binding data does not match the GS2 header")
        }
        guard attributes["r"] == nonce else { throw Self.fail("the nonce does not match the server's") }
        guard let proof = Data(base64Encoded: String(message[proofStart.upperBound...])), proof.count == 32 else {
            throw Self.fail("the proof is not 32 base64-encoded bytes")
        }
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let clientSignature = Self.hmac(verifier.storedKey, authMessage)
        let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
        guard Array(SHA256.hash(data: clientKey)) == verifier.storedKey else {
            throw SQLError(SQLState("28P01"), "password authentication failed for user \"\(user)\"")
        }
        let serverSignature = Self.hmac(verifier.serverKey, authMessage)
        return Array("v=\(Data(serverSignature).base64EncodedString())".utf8)
    }

    /// `a=value,b=value`: the first value of each one-letter attribute.
    static func attributes(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for part in text.split(separator: ",") where part.count >= 2 && part.dropFirst().first == "=" {
            let key = String(part.prefix(1))
            if result[key] == nil { result[key] = String(part.dropFirst(2)) }
        }
        return result
    }

    static func hmac(_ key: [UInt8], _ message: String) -> [UInt8] { hmac(key, Array(message.utf8)) }

    static func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }
}
