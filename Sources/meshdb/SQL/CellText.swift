import MeshWire
import PostgresNIO

/// Text of a result cell. postgres-nio asks for binary results; the types MeshDB sends are decoded
/// with MeshWire's codec (the same code that encoded them on the server), and the other common
/// PostgreSQL types here, so the same query prints the same text against MeshDB and PostgreSQL.
enum CellText {
    private static let numericOIDs: Set<UInt32> = [20, 21, 23, 26, 700, 701, 1700]
    private static let textOIDs: Set<UInt32> = [18, 19, 25, 114, 142, 705, 1042, 1043]

    static func isNumeric(_ type: PostgresDataType) -> Bool { numericOIDs.contains(type.rawValue) }

    static func text(_ cell: PostgresCell) -> String? {
        guard var buffer = cell.bytes else { return nil }
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        let oid = cell.dataType.rawValue
        if cell.format == .text || textOIDs.contains(oid) { return String(decoding: bytes, as: UTF8.self) }
        let wireType = WireType(oid: Int32(bitPattern: oid))
        if WireType.known.contains(wireType), let value = try? WireValueCodec.decode(bytes, as: wireType, format: 1, parameter: 0) {
            return WireValueCodec.text(value, as: wireType)
        }
        switch oid {
        case 24, 26, 28, 29, 2202, 2203, 2204, 2205, 2206, 4089, 4096:
            // oid and its reg* aliases travel as a 4-byte unsigned integer.
            if bytes.count == 4 { return String(bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) }
        case 3802 where bytes.first == 1:
            return String(decoding: bytes.dropFirst(), as: UTF8.self)
        case 2950 where bytes.count == 16:
            let hex = bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
            let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
                String(hex.dropFirst(range.lowerBound).prefix(range.count))
            }
            return parts.joined(separator: "-")
        case 1082 where bytes.count == 4:
            let days = Int32(bitPattern: bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            return dateText(daysSince2000: Int(days))
        case 1184:
            guard let value = try? WireValueCodec.decode(bytes, as: .timestamp, format: 1, parameter: 0) else { break }
            return WireValueCodec.text(value, as: .timestamp) + "+00"
        default:
            break
        }
        if let string = try? cell.decode(String.self) { return string }
        return "\\x" + bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// yyyy-mm-dd of a PostgreSQL date (days since 2000-01-01, which is day 10,957 of the Unix epoch).
    static func dateText(daysSince2000 days: Int) -> String {
        let (year, month, day) = WireValueCodec.civilFromDays(Int64(days) + 10_957)
        return String(year).leftPadded(to: 4) + "-" + String(month).leftPadded(to: 2) + "-" + String(day).leftPadded(to: 2)
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
