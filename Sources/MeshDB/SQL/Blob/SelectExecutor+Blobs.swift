import QueryPlanner

/// The blob strategy's last step (`BlobStrategy`): after the shard steps and the finish, the
/// outputs that are bytea columns as stored hold, for out-of-line values, references; each is
/// replaced by the value read from the chunk stores. A reference anywhere else in the result
/// would be a value MeshDB cannot compute on: the statement fails rather than return it.
extension SelectExecutor {
    /// Most bytes of out-of-line values one result may hold: the wire protocol sends each row
    /// whole, so the result is assembled in memory once (blob_result_bytes_max).
    static let blobResultBytesMax = 1 << 30

    /// Reads the out-of-line values of `rows` (nothing when `strategy` fetches no column);
    /// `describeOnly` leaves them unread (a Describe wants column types, not values).
    func fetchBlobs(in rows: inout [[SQLiteValue]], strategy: BlobStrategy, describeOnly: Bool) async throws -> BlobStrategy.Analysis {
        var analysis = BlobStrategy.Analysis()
        // The name of each fetched column, for errors about its values.
        let fetched = Dictionary(zip(strategy.fetchedColumns, strategy.fetchedNames), uniquingKeysWith: { first, _ in first })
        var bytesLeft = Self.blobResultBytesMax
        for row in rows.indices {
            for column in rows[row].indices {
                guard case .text(let text) = rows[row][column] else { continue }
                guard let name = fetched[column] else {
                    if text.hasPrefix(BlobStrategy.referencePrefix) { throw Self.unresolvedReference(strategy) }
                    continue
                }
                if describeOnly {
                    rows[row][column] = .blob([])
                    continue
                }
                let value = try await gateway.byteaValue(storedAs: text, column: name, bytesLeft: bytesLeft, analysis: &analysis)
                bytesLeft -= value.count
                rows[row][column] = .blob(value)
            }
        }
        return analysis
    }

    static func unresolvedReference(_ strategy: BlobStrategy) -> SQLError {
        SQLError(.featureNotSupported,
                 "an out-of-line value of bytea column \(strategy.byteaColumns.joined(separator: ", ")) (larger than blob_inline_max) reaches the result through a subquery, view, set operation, DISTINCT or expression; MeshDB fetches out-of-line values only for bytea columns the outermost SELECT names directly",
                 hint: "Select the column itself (SELECT body FROM media WHERE …), or raise mesh.blob_inline_max before storing the value.")
    }
}

extension Gateway {
    /// The value of a bytea column stored as TEXT: the bytes of the value its reference names,
    /// read from the chunk stores; text that is no reference was stored before MeshDB kept bytea
    /// values as BLOBs, and is its bytes.
    func byteaValue(storedAs text: String, column: String, bytesLeft: Int, analysis: inout BlobStrategy.Analysis) async throws -> [UInt8] {
        let reference: BlobReference?
        do {
            reference = try BlobReference(text: text)
        } catch {
            throw GatewayError(sqlState: "XX001", message: "column \(column) holds a malformed blob reference: \(error)")
        }
        guard let reference else { return Array(text.utf8) }
        return try await fetchOutOfLine(reference, bytesLeft: bytesLeft, analysis: &analysis)
    }
}
