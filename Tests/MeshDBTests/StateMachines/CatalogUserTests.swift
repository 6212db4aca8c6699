import Consensus
import Testing
@testable import MeshDB

/// Users in the replicated catalog: SCRAM-SHA-256 verifiers (never passwords) through the
/// command codec, the state machine on every replica and the snapshot.
@Suite struct CatalogUserTests {
    typealias Base = CatalogStateMachineTests

    static let pencil = CatalogUser(name: "alice", verifier: ScramVerifier(password: "pencil", salt: Base64Decoded.rfc7677Salt))

    /// RFC 7677's example password and salt; the expected keys were computed independently with
    /// Python's hashlib.pbkdf2_hmac and hmac, in PostgreSQL's rolpassword form.
    @Test func theVerifierMatchesAnIndependentComputation() {
        #expect(Self.pencil.verifier.postgresText
                == "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")
        #expect(ScramVerifier(password: "pencil2", salt: Base64Decoded.rfc7677Salt) != Self.pencil.verifier)
        #expect(ScramVerifier.randomSalt() != ScramVerifier.randomSalt())
    }

    @Test func userCommandsSurviveTheCodec() throws {
        for command: CatalogCommand in [.createUser(Self.pencil), .alterUser(Self.pencil), .dropUser(name: "alice", ifExists: true)] {
            #expect(try CatalogCommand(decoding: command.encoded()) == command)
        }
        var broken = CatalogCommand.createUser(Self.pencil).encoded()
        broken.removeLast()
        #expect(throws: DecodeError.self) { try CatalogCommand(decoding: broken) }
    }

    @Test func replicasAgreeOnUsersAndSnapshotsKeepThem() throws {
        var replicas = [Base.booted(), Base.booted()]
        let bob = CatalogUser(name: "bob", verifier: ScramVerifier(password: "secret", salt: [1, 2, 3, 4]))
        let commands: [CatalogCommand] = [.createUser(bob), .createUser(Self.pencil), .createUser(bob),
                                          .alterUser(CatalogUser(name: "alice", verifier: bob.verifier)),
                                          .dropUser(name: "nobody", ifExists: true), .dropUser(name: "nobody", ifExists: false)]
        let results = replicas.indices.map { Base.run(&replicas[$0], commands, sequence: 2) }
        #expect(results[0] == results[1])
        #expect(results[0].map(Base.sqlState) == [nil, nil, "42710", nil, nil, "42704"])
        #expect(replicas[0].snapshot() == replicas[1].snapshot())
        #expect(replicas[0].sortedUsers.map(\.name) == ["alice", "bob"])
        #expect(replicas[0].user(named: "alice")?.verifier == bob.verifier)

        var restored = CatalogStateMachine()
        try restored.restore(from: replicas[0].snapshot())
        #expect(restored.sortedUsers == replicas[0].sortedUsers)
        #expect(restored.snapshot() == replicas[0].snapshot())

        _ = Base.run(&replicas[0], [.dropUser(name: "bob", ifExists: false)], sequence: 10)
        #expect(replicas[0].sortedUsers.map(\.name) == ["alice"])
    }

    @Test func reservedAndTakenNamesAreRefused() {
        var catalog = Base.booted()
        let results = Base.run(&catalog, [
            .createUser(CatalogUser(name: "pg_admin", verifier: Self.pencil.verifier)),
            .createUser(CatalogUser(name: PostgresCatalog.ownerName, verifier: Self.pencil.verifier)),
            .alterUser(Self.pencil),
        ], sequence: 2)
        #expect(results.map(Base.sqlState) == ["42602", "42710", "42704"])
    }
}

enum Base64Decoded {
    /// base64 "W22ZaJ0SNY7soEsUEjb6gQ==".
    static let rfc7677Salt: [UInt8] = [0x5B, 0x6D, 0x99, 0x68, 0x9D, 0x12, 0x35, 0x8E, 0xEC, 0xA0, 0x4B, 0x14, 0x12, 0x36, 0xFA, 0x81]
}
