/// What a replica keeps per client (OSDI'99 §4.1): the last executed request and its result
/// (exactly-once), the newest request waiting for execution, the primary's batching marks, and
/// where the authenticator keeps the client's MAC key.
///
/// Laid out for the normal case, which touches every entry once per request on every replica:
/// - one hash lookup finds a client's entry, then everything about it is at that position
///   (these used to be four dictionaries plus the authenticator's, and the lookups were the
///   largest single cost of ordering a request; docs/BENCHMARKS.md);
/// - the scalars sit in `marks`, an array of plain values, apart from what holds references:
///   reading an element of an array copies the whole element, so one result or request in it
///   would make every scalar read retain and release it.
///
/// Every client of the key directory has an entry from the start; others get one when a
/// transferred snapshot or a new view's batch names them. Entries are never removed (clients
/// are bounded by the directory and by what a checkpoint certificate vouches for).
struct ClientTable {
    /// The scalar state of one client.
    struct Marks {
        /// Where the authenticator keeps the MAC key shared with this client; nil for a client
        /// outside our key directory.
        let keySlot: Int?
        /// The timestamp of the last executed request; nil until one ran.
        var executed: UInt64?
        /// The timestamp of `pending[c]`, nil when nothing waits.
        var pending: UInt64?
        /// Primary only: the newest timestamp of this client placed in a batch of this view.
        var assigned: UInt64 = 0
        /// Primary only: whether the client is in the primary's ready queue.
        var inReadyQueue = false
    }

    private(set) var ids: [UInt64] = []
    private var positions: [UInt64: Int] = [:]
    var marks: [Marks] = []
    /// The result of each client's last executed request (empty until it ran).
    private(set) var results: [[UInt8]] = []
    /// The newest authenticated request waiting for execution.
    private(set) var pending: [Request?] = []
    /// The recipients of a reply, built once per client: an array per reply was an allocation.
    private(set) var replyRecipients: [[Principal]] = []
    /// Clients with a pending request: bounded by `ReplicaOptions.pendingClientsMax`, and what
    /// the request timer watches.
    private(set) var pendingCount = 0

    var count: Int { ids.count }

    /// The position of `client`'s entry.
    func position(of client: UInt64) -> Int? {
        positions[client]
    }

    /// The position of `client`'s entry, created with `keySlot` if it is new.
    mutating func position(creating client: UInt64, keySlot: Int?) -> Int {
        if let c = positions[client] { return c }
        positions[client] = ids.count
        ids.append(client)
        marks.append(Marks(keySlot: keySlot))
        results.append([])
        pending.append(nil)
        replyRecipients.append([.client(client)])
        return ids.count - 1
    }

    mutating func setPending(_ c: Int, _ request: Request) {
        if marks[c].pending == nil { pendingCount += 1 }
        marks[c].pending = request.timestamp
        pending[c] = request
    }

    mutating func clearPending(_ c: Int) {
        guard marks[c].pending != nil else { return }
        pendingCount -= 1
        marks[c].pending = nil
        pending[c] = nil
    }

    /// Marks `timestamp` as executed, before the result is known (a repeat in the same batch
    /// must already count as executed).
    mutating func markExecuted(_ c: Int, timestamp: UInt64) {
        marks[c].executed = timestamp
        results[c] = []
    }

    mutating func setResult(_ c: Int, _ result: [UInt8]) {
        results[c] = result
    }

    /// The exactly-once records for a checkpoint, sorted by client: never in a dictionary's order.
    var executedRecords: [(client: UInt64, record: ClientRecord)] {
        ids.indices.compactMap { c in
            marks[c].executed.map { (client: ids[c], record: ClientRecord(timestamp: $0, result: results[c])) }
        }.sorted { $0.client < $1.client }
    }

    /// Replaces every exactly-once record by those of a transferred snapshot, and drops waiting
    /// requests the snapshot already executed.
    mutating func restore(_ records: [UInt64: ClientRecord], keySlot: (UInt64) -> Int?) {
        for client in records.keys.sorted() {
            _ = position(creating: client, keySlot: keySlot(client))
        }
        for c in ids.indices {
            let record = records[ids[c]]
            marks[c].executed = record?.timestamp
            results[c] = record?.result ?? []
            if let waiting = marks[c].pending, waiting <= (record?.timestamp ?? 0) {
                clearPending(c)
            }
        }
    }

    /// A new view starts with no batching marks (the ready queue is rebuilt by the caller).
    mutating func clearBatchingMarks() {
        for c in marks.indices {
            marks[c].assigned = 0
            marks[c].inReadyQueue = false
        }
    }

    /// Positions of the clients with a waiting request, in client order.
    var positionsWithPending: [Int] {
        ids.indices.filter { marks[$0].pending != nil }.sorted { ids[$0] < ids[$1] }
    }
}
