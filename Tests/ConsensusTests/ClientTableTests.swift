import Testing
@testable import Consensus

/// The replica's per-client table (OSDI'99 §4.1 exactly-once state, the queued request, batching
/// marks): what a state transfer and a new view do to it.
@Suite struct ClientTableTests {
    func request(_ client: UInt64, _ timestamp: UInt64) -> Request {
        Request(client: client, timestamp: timestamp, operation: [1])
    }

    /// TOCS §5.3: a transferred snapshot replaces every exactly-once record (clients it does not
    /// name have none afterwards), drops queued requests it already executed, keeps newer ones,
    /// and adds clients outside our directory without a key.
    @Test func tocs5_3_restoreReplacesRecordsAndDropsExecutedPendingRequests() {
        var table = ClientTable()
        let a = table.position(creating: 1, keySlot: 0)
        let b = table.position(creating: 2, keySlot: 1)
        table.markExecuted(a, timestamp: 4)
        table.setResult(a, [9])
        table.setPending(a, request(1, 5))
        table.setPending(b, request(2, 3))
        #expect(table.pendingCount == 2)

        table.restore([2: ClientRecord(timestamp: 3, result: [7]), 77: ClientRecord(timestamp: 1, result: [])]) { _ in nil }

        #expect(table.marks[a].executed == nil && table.results[a].isEmpty, "a record the snapshot lacks is gone")
        #expect(table.pending[a]?.timestamp == 5, "a request newer than the snapshot still waits")
        #expect(table.marks[b].executed == 3 && table.results[b] == [7])
        #expect(table.pending[b] == nil && table.marks[b].pending == nil, "the snapshot executed it")
        #expect(table.pendingCount == 1)
        let stranger = table.position(of: 77)
        #expect(stranger.map { table.marks[$0].keySlot } == .some(nil))
        #expect(table.executedRecords.map(\.client) == [2, 77], "records come out sorted by client")
    }

    @Test func clearingBatchingMarksKeepsRecordsAndQueuedRequests() {
        var table = ClientTable()
        let a = table.position(creating: 1, keySlot: 0)
        table.setPending(a, request(1, 2))
        table.markExecuted(a, timestamp: 1)
        table.marks[a].assigned = 2
        table.marks[a].inReadyQueue = true
        table.clearBatchingMarks()
        #expect(table.marks[a].assigned == 0 && !table.marks[a].inReadyQueue)
        #expect(table.marks[a].executed == 1 && table.pending[a]?.timestamp == 2)
        #expect(table.positionsWithPending == [a])
    }
}
