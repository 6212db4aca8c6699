import Foundation
import Logging
import MeshDB
import PostgresNIO
import QueryPlanner
import Testing
@testable import MeshWire
import TestSupport

/// Random and mutated frontend messages (after ByzzFuzz: small mutations of real messages reach
/// states that random bytes never do) into the state machine and through a real server socket:
/// nothing may crash, and the server must still answer a fresh connection. A failing seed is
/// printed; MESHWIRE_FUZZ_SEED replays one, MESHWIRE_FUZZ_ITERATIONS soaks (1,000,000 and more).
@Suite(.heavy, .serialized) struct ProtocolFuzzTests {
    static var iterations: Int { Int(ProcessInfo.processInfo.environment["MESHWIRE_FUZZ_ITERATIONS"] ?? "") ?? 3000 }
    static var firstSeed: UInt64 { UInt64(ProcessInfo.processInfo.environment["MESHWIRE_FUZZ_SEED"] ?? "") ?? 1 }

    @Test func stateMachineSurvivesRandomAndMutatedMessages() {
        for seed in Self.firstSeed..<Self.firstSeed + UInt64(Self.iterations) {
            var random = SeededRandom(seed: seed)
            var driver = SessionDriver { $0.copyBatchRows = 3 }
            let stream = FuzzMessages.stream(&random)
            var offset = 0
            var steps = 0
            while offset < stream.count, !driver.machine.isClosed {
                let chunk = min(stream.count - offset, Int(random.next(upTo: 64)) + 1)
                var actions = driver.machine.bytesReceived(stream[offset..<offset + chunk])
                offset += chunk
                // Play the shell: answer each piece of work, sometimes with an error.
                while let action = actions.last(where: { if case .send = $0 { false } else { true } }),
                      driver.machine.isBusy, steps < 10_000 {
                    steps += 1
                    actions = FuzzMessages.answer(action, machine: &driver.machine, random: &random)
                }
                #expect(!driver.machine.isBusy || steps >= 10_000, "seed \(seed): the machine waits for work it never asked for")
            }
        }
    }

    @Test func serverSurvivesGarbageAndStillAnswers() async throws {
        let wire = try await WireTestCluster.start { $0.messageBytesMax = 1 << 16 }
        do {
            var random = SeededRandom(seed: Self.firstSeed)
            for _ in 0..<200 {
                try await sendRaw(FuzzMessages.stream(&random), port: wire.port)
            }
            // An oversized message closes only its own connection.
            try await sendRaw(FrontendMessage.startup(parameters: [("user", "meshdb")]).encoded
                              + FrontendMessage.query(String(repeating: "x", count: 1 << 17)).encoded, port: wire.port)
            let logger = Logger(label: "meshwire.fuzz")
            let connection = try await connectPostgres(port: wire.port, logger: logger)
            let rows = try await connection.query("SELECT 41 + 1", logger: logger)
            for try await value in rows.decode(Int.self) { #expect(value == 42) }
            try await connection.close()
        } catch {
            await wire.stop()
            throw error
        }
        await wire.stop()
    }
}

/// SplitMix64: a fast, seedable generator, so a failing run replays from its seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(upTo bound: UInt64) -> UInt64 { next() % max(bound, 1) }
    mutating func chance(_ percent: UInt64) -> Bool { next(upTo: 100) < percent }
}

enum FuzzMessages {
    static let queries = ["SELECT 1", "SELECT $1, $2", "COPY t FROM STDIN", "COPY t TO STDOUT (FORMAT csv, HEADER)",
                          "COPY (SELECT 1) TO STDOUT", "", "; ;", "INSERT INTO t VALUES ($1)", "SELECT 'a;b'; SELECT 2", "COPY t FROM STDIN csv"]

    /// A connection's bytes: usually a startup, then real messages with random fields, some mutated.
    static func stream(_ random: inout SeededRandom) -> [UInt8] {
        var bytes: [UInt8] = []
        if random.chance(90) {
            if random.chance(10) { bytes += FrontendMessage.sslRequest.encoded }
            bytes += FrontendMessage.startup(parameters: [("user", "meshdb"), ("database", "meshdb")]).encoded
        }
        for _ in 0..<random.next(upTo: 12) {
            var message = self.message(&random).encoded
            if random.chance(15) { mutate(&message, &random) }
            bytes += message
        }
        if random.chance(5) { bytes += (0..<random.next(upTo: 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
        return bytes
    }

    static func message(_ random: inout SeededRandom) -> FrontendMessage {
        func text() -> String { queries[Int(random.next(upTo: UInt64(queries.count)))] }
        func name() -> String { ["", "s", "p"][Int(random.next(upTo: 3))] }
        func field() -> [UInt8]? {
            random.chance(10) ? nil : (0..<random.next(upTo: 9)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        }
        switch random.next(upTo: 14) {
        case 0: return .query(text())
        case 1: return .parse(statement: name(), query: text(), parameterTypes: random.chance(50) ? [] : [23, 0, 25, 1700, 1114][..<Int(random.next(upTo: 5))].map { $0 })
        case 2:
            let count = Int(random.next(upTo: 3))
            return .bind(.init(portal: name(), statement: name(), parameterFormats: random.chance(50) ? [] : [Int16(random.next(upTo: 2))],
                               parameters: (0..<count).map { _ in field() }, resultFormats: random.chance(50) ? [] : [1]))
        case 3: return .describe(random.chance(50) ? .statement : .portal, name: name())
        case 4: return .execute(portal: name(), rowLimit: Int32(random.next(upTo: 3)))
        case 5, 6: return .sync
        case 7: return .flush
        case 8: return .close(random.chance(50) ? .statement : .portal, name: name())
        case 9: return .copyData(Array(["1\tx\n", "2,\"y\n", "\\.\n", "3\t\\N\n", "a,b,c\n"][Int(random.next(upTo: 5))].utf8))
        case 10: return .copyDone
        case 11: return .copyFail("fuzz")
        case 12: return random.chance(50) ? .password("pw") : .cancelRequest(processID: 1, secretKey: 2)
        default: return random.chance(10) ? .terminate : .query("SELECT 1")
        }
    }

    /// Flips, truncates or lengthens one real message.
    static func mutate(_ bytes: inout [UInt8], _ random: inout SeededRandom) {
        guard !bytes.isEmpty else { return }
        switch random.next(upTo: 4) {
        case 0: bytes[Int(random.next(upTo: UInt64(bytes.count)))] ^= UInt8(truncatingIfNeeded: random.next() | 1)
        case 1: bytes.removeLast(Int(random.next(upTo: UInt64(bytes.count))))
        case 2 where bytes.count >= 5: bytes[4] = bytes[4] &+ UInt8(random.next(upTo: 3)) &- 1  // length ±1
        default: bytes += (0..<random.next(upTo: 6)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        }
    }

    /// The shell's reply to one piece of work.
    static func answer(_ action: SessionStateMachine.Action, machine: inout SessionStateMachine,
                       random: inout SeededRandom) -> [SessionStateMachine.Action] {
        let status: BackendMessage.TransactionStatus = [.idle, .inTransaction, .failedTransaction][Int(random.next(upTo: 3))]
        if random.chance(20) {
            return machine.statementFailed(SQLError(.syntaxError, "fuzz", position: Int(random.next(upTo: 5)) + 1), transactionStatus: status)
        }
        switch action {
        case .execute, .insertCopyRows:
            let rows = (0..<random.next(upTo: 4)).map { _ in [SQLiteValue.integer(Int64(random.next(upTo: 9))), .null] }
            return machine.statementCompleted(SQLResult(tag: "SELECT \(rows.count)", columns: random.chance(70) ? ["a", "b"] : [], rows: rows),
                                              transactionStatus: status)
        case .describe(_, let parameterTypes):
            return machine.statementDescribed(parameterTypes: parameterTypes.map { $0 == 0 ? .text : WireType(oid: $0) },
                                              columns: random.chance(50) ? nil : [.init(name: "a", type: .int8)])
        case .startSession:
            return machine.sessionStarted()
        case .prepareCopyIn:
            return machine.copyInPrepared(columnTypes: Array(repeating: WireType.text, count: Int(random.next(upTo: 3)) + 1))
        default:
            preconditionFailure("not a piece of work: \(action)")
        }
    }
}
