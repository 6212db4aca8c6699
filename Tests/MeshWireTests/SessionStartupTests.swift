import Foundation
import MeshDB
import QueryPlanner
import Testing
@testable import MeshWire

/// Startup and authentication ("Message Flow: Start-up" in the PostgreSQL documentation).
@Suite struct SessionStartupTests {
    @Test func trustStartupSendsParametersKeyDataAndReady() {
        var driver = SessionDriver()
        let messages = sent(driver.connect())
        #expect(messages.first == .authentication(.ok))
        #expect(messages.contains(.parameterStatus(name: "server_version", value: MeshDBVersion.postgresCompatible)))
        #expect(messages.contains(.parameterStatus(name: "meshdb_version", value: MeshDBVersion.string)))
        #expect(messages.contains(.parameterStatus(name: "client_encoding", value: "UTF8")))
        #expect(messages.contains(.parameterStatus(name: "DateStyle", value: "ISO, MDY")))
        #expect(messages.contains(.parameterStatus(name: "integer_datetimes", value: "on")))
        #expect(messages.contains(.parameterStatus(name: "standard_conforming_strings", value: "on")))
        #expect(messages.contains(.parameterStatus(name: "TimeZone", value: "UTC")))
        #expect(messages.contains(.parameterStatus(name: "application_name", value: "tests")))
        #expect(Array(messages.suffix(2)) == [.backendKeyData(processID: 7, secretKey: 99), .readyForQuery(.idle)])
    }

    /// PostgreSQL applies the switches of `options` first, then the packet's other parameters,
    /// each as a setting of its own name (libpq sends PGOPTIONS in `options`, psql its
    /// application_name as a parameter).
    @Test func startupSettingsAreTheOptionsSwitchesThenTheOtherParameters() {
        var driver = SessionDriver()
        let actions = driver.machine.bytesReceived(FrontendMessage.startup(parameters: [
            ("user", "alice"), ("options", " -c mesh.read_consistency=local --work-mem=64MB  -cpath=a\\ b\\\\c "),
            ("database", "db"), ("DateStyle", "ISO, DMY"), ("application_name", "psql"), ("_pq_.extension", "1"),
            ("application_name", "ignored: a repeated name counts once"),
        ]).encoded)
        let expected: [StartupSetting] = [
            .init(name: "mesh.read_consistency", value: "local"), .init(name: "work_mem", value: "64MB"),
            .init(name: "path", value: "a b\\c"), .init(name: "DateStyle", value: "ISO, DMY"), .init(name: "application_name", value: "psql"),
        ]
        #expect(actions == [.startSession(user: "alice", database: "db", settings: expected)])
        #expect(driver.machine.isBusy, "nothing more is read until the session started")
        // The session settles the values (canonical, last one wins); the machine reports them.
        let messages = sent(driver.machine.sessionStarted(reported: ["datestyle": "ISO, DMY", "application_name": "psql"]))
        #expect(messages.first == .authentication(.ok))
        #expect(messages.contains(.parameterStatus(name: "DateStyle", value: "ISO, DMY")))
        #expect(messages.contains(.parameterStatus(name: "TimeZone", value: "UTC")))
        #expect(messages.contains(.parameterStatus(name: "application_name", value: "psql")))
        #expect(messages.contains(.parameterStatus(name: "session_authorization", value: "alice")))
        #expect(messages.last == .readyForQuery(.idle))
    }

    @Test func aBadOptionsSwitchRefusesTheLogin() {
        for options in ["-B 100", "-c", "-c work_mem", "--=x", "stray"] {
            var driver = SessionDriver()
            let actions = driver.send(.startup(parameters: [("user", "meshdb"), ("options", options)]))
            #expect(errorState(sent(actions)) == "42601", "\(options)")
            #expect(!sent(actions).contains(.authentication(.ok)), "\(options)")
            #expect(actions.last == .close, "\(options)")
        }
    }

    /// The session refuses a setting (an invalid value): the login fails with that error, after
    /// AuthenticationOk was never sent.
    @Test func aSettingTheSessionRefusesFailsTheLogin() {
        var driver = SessionDriver()
        let started = driver.machine.bytesReceived(FrontendMessage.startup(parameters: [("user", "meshdb"), ("options", "-c mesh.read_consistency=bogus")]).encoded)
        #expect(started == [.startSession(user: "meshdb", database: "meshdb", settings: [.init(name: "mesh.read_consistency", value: "bogus")])])
        let refused = driver.machine.statementFailed(SQLError(SQLState("22023"), "invalid value"), transactionStatus: .idle)
        #expect(sent(refused) == [.errorResponse(SQLError(SQLState("22023"), "invalid value"), fatal: true)])
        #expect(refused.last == .close)
        #expect(driver.machine.isClosed)
    }

    @Test func sslRequestIsRefusedWithoutTLSAndStartupFollows() {
        var driver = SessionDriver()
        #expect(driver.send(.sslRequest) == [.send([.encryptionResponse(accepted: false)])])
        #expect(driver.send(.gssEncryptionRequest) == [.send([.encryptionResponse(accepted: false)])])
        #expect(sent(driver.connect()).last == .readyForQuery(.idle))
    }

    @Test func sslRequestStartsTLSWhenConfigured() {
        var driver = SessionDriver { $0.tlsAvailable = true }
        #expect(driver.send(.sslRequest) == [.send([.encryptionResponse(accepted: true)]), .startTLS])
        #expect(sent(driver.connect()).last == .readyForQuery(.idle))
    }

    @Test func cancelRequestCarriesTheKeyAndCloses() {
        var driver = SessionDriver()
        #expect(driver.send(.cancelRequest(processID: 12, secretKey: -5)) == [.cancel(processID: 12, secretKey: -5), .close])
        #expect(driver.machine.isClosed)
    }

    @Test func protocolTwoIsRefusedWith08P01() {
        var driver = SessionDriver()
        let actions = driver.machine.bytesReceived([0, 0, 0, 8, 0, 2, 0, 0])
        #expect(errorState(sent(actions)) == "08P01")
        #expect(actions.last == .close)
    }

    @Test func startupWithoutUserIsRefused() {
        var driver = SessionDriver()
        let actions = driver.send(.startup(parameters: [("database", "x")]))
        #expect(errorState(sent(actions)) == "28000")
        #expect(actions.last == .close)
    }

    @Test func cleartextPasswordRightAndWrong() {
        let verifier = ScramVerifier(password: "secret", salt: Array("salty".utf8))
        var good = SessionDriver {
            $0.authentication = .cleartextPassword
            $0.users = ["alice": verifier]
        }
        #expect(sent(good.connect(user: "alice")) == [.authentication(.cleartextPassword)])
        #expect(sent(good.send(.password("secret"))).last == .readyForQuery(.idle))

        var bad = SessionDriver {
            $0.authentication = .cleartextPassword
            $0.users = ["alice": verifier]
        }
        _ = bad.connect(user: "alice")
        let actions = bad.send(.password("guess"))
        #expect(errorState(sent(actions)) == "28P01")
        #expect(actions.last == .close)

        var unknown = SessionDriver { $0.authentication = .cleartextPassword }
        #expect(unknown.connect(user: "mallory") == [.lookUpUser("mallory")])
        #expect(sent(unknown.machine.userLookedUp(nil)) == [.authentication(.cleartextPassword)])
        #expect(errorState(sent(unknown.send(.password("secret")))) == "28P01")
    }

    /// RFC 7677 §3: the SCRAM-SHA-256 example exchange, user "user", password "pencil".
    @Test func scramSHA256ExchangeOfRFC7677() {
        let salt = Array(Data(base64Encoded: "W22ZaJ0SNY7soEsUEjb6gQ==")!)
        let serverNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
        var driver = SessionDriver {
            $0.authentication = .scramSHA256
            $0.users = ["user": ScramVerifier(password: "pencil", salt: salt, iterations: 4096)]
            $0.scramServerNonce = serverNonce
        }
        #expect(sent(driver.connect(user: "user")) == [.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"]))])
        let first = sent(driver.send(.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: Array("n,,n=user,r=rOprNGfwEbeRWgbNEkqO".utf8))))
        let expectedFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        #expect(first == [.authentication(.saslContinue(Array(expectedFirst.utf8)))])
        let final = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        let messages = sent(driver.send(.saslResponse(Array(final.utf8))))
        #expect(messages.first == .authentication(.saslFinal(Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8))))
        #expect(messages.dropFirst().first == .authentication(.ok))
        #expect(messages.last == .readyForQuery(.idle))
    }

    /// A user the configuration does not hold is looked up (in the catalog, by the shell) before
    /// the exchange starts; a message the client sends meanwhile waits its turn.
    @Test func scramAgainstALookedUpUserRunsTheSameExchange() {
        let salt = Array(Data(base64Encoded: "W22ZaJ0SNY7soEsUEjb6gQ==")!)
        var driver = SessionDriver {
            $0.authentication = .scramSHA256
            $0.scramServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
        }
        #expect(driver.connect(user: "user") == [.lookUpUser("user")])
        #expect(driver.machine.isBusy)
        let early = driver.send(.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: Array("n,,n=user,r=rOprNGfwEbeRWgbNEkqO".utf8)))
        #expect(early.isEmpty)
        let answered = sent(driver.machine.userLookedUp(ScramVerifier(password: "pencil", salt: salt, iterations: 4096)))
        let expectedFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        #expect(answered == [.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"])), .authentication(.saslContinue(Array(expectedFirst.utf8)))])
        let final = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        #expect(sent(driver.send(.saslResponse(Array(final.utf8)))).last == .readyForQuery(.idle))
    }

    @Test func aFailedUserLookupRefusesTheLogin() {
        var driver = SessionDriver { $0.authentication = .scramSHA256 }
        #expect(driver.connect(user: "user") == [.lookUpUser("user")])
        let actions = driver.machine.statementFailed(SQLError(.internalError, "catalog unavailable"), transactionStatus: .idle)
        #expect(errorState(sent(actions)) == "XX000")
        #expect(actions.last == .close)
    }

    @Test func scramWithAWrongProofFailsWith28P01() {
        var driver = SessionDriver {
            $0.authentication = .scramSHA256
            $0.users = ["user": ScramVerifier(password: "pencil", salt: Array("0123456789abcdef".utf8))]
            $0.scramServerNonce = "server"
        }
        _ = driver.connect(user: "user")
        _ = driver.send(.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: Array("n,,n=user,r=client".utf8)))
        let proof = Data(repeating: 1, count: 32).base64EncodedString()
        let actions = driver.send(.saslResponse(Array("c=biws,r=clientserver,p=\(proof)".utf8)))
        #expect(errorState(sent(actions)) == "28P01")
        #expect(actions.last == .close)
    }

    @Test func messagesBeforeStartupAreProtocolViolations() {
        var driver = SessionDriver()
        // A typed message where the startup packet belongs reads as a bogus protocol version.
        let actions = driver.machine.bytesReceived(FrontendMessage.query("SELECT 1").encoded)
        #expect(errorState(sent(actions)) == "08P01")
        #expect(driver.machine.isClosed)
    }
}
