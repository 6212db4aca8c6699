import QueryPlanner

/// Reads the fields of one frontend message body: big-endian integers, NUL-terminated strings
/// and length-prefixed byte strings, each checked against what is left, so a lying length or a
/// missing terminator becomes a 08P01 error naming the field and the message rather than a trap.
struct WireReader {
    private let bytes: [UInt8]
    private(set) var index = 0
    /// The message being read, for error messages ("Bind: parameter 2 ...").
    let messageName: String

    init(_ bytes: [UInt8], message: String) {
        self.bytes = bytes
        self.messageName = message
    }

    var remaining: Int { bytes.count - index }

    func malformed(_ what: String) -> SQLError {
        SQLError(.protocolViolation, "malformed \(messageName) message: \(what)")
    }

    mutating func uint8(_ field: String) throws(SQLError) -> UInt8 {
        guard remaining >= 1 else { throw malformed("\(field) is missing") }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func int16(_ field: String) throws(SQLError) -> Int16 {
        guard remaining >= 2 else { throw malformed("\(field) is missing") }
        defer { index += 2 }
        return Int16(bitPattern: UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]))
    }

    mutating func int32(_ field: String) throws(SQLError) -> Int32 {
        guard remaining >= 4 else { throw malformed("\(field) is missing") }
        defer { index += 4 }
        return Int32(bitPattern: bytes[index..<index + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }

    /// A count that must not be negative (number of parameters, of formats...).
    mutating func count16(_ field: String) throws(SQLError) -> Int {
        let value = try int16(field)
        guard value >= 0 else { throw malformed("\(field) is negative (\(value))") }
        return Int(value)
    }

    mutating func cString(_ field: String) throws(SQLError) -> String {
        guard let end = bytes[index...].firstIndex(of: 0) else {
            throw malformed("\(field) has no NUL terminator")
        }
        defer { index = end + 1 }
        guard let text = String(validating: bytes[index..<end], as: UTF8.self) else {
            throw malformed("\(field) is not valid UTF-8")
        }
        return text
    }

    mutating func bytes(_ count: Int, _ field: String) throws(SQLError) -> [UInt8] {
        guard count >= 0, remaining >= count else {
            throw malformed("\(field) claims \(count) bytes but \(remaining) remain")
        }
        defer { index += count }
        return Array(bytes[index..<index + count])
    }

    mutating func rest() -> [UInt8] {
        defer { index = bytes.count }
        return Array(bytes[index...])
    }

    func expectEnd() throws(SQLError) {
        guard remaining == 0 else { throw malformed("\(remaining) unexpected trailing bytes") }
    }
}

/// Appends backend message fields in network byte order.
struct WireWriter {
    var bytes: [UInt8] = []

    mutating func uint8(_ value: UInt8) { bytes.append(value) }

    mutating func int16(_ value: Int16) {
        let bits = UInt16(bitPattern: value)
        bytes.append(UInt8(bits >> 8))
        bytes.append(UInt8(bits & 0xFF))
    }

    mutating func int32(_ value: Int32) {
        let bits = UInt32(bitPattern: value)
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((bits >> UInt32(shift)) & 0xFF)) }
    }

    mutating func cString(_ value: String) {
        // A NUL inside would end the field early on the client: PostgreSQL strings never hold one.
        bytes.append(contentsOf: value.utf8.filter { $0 != 0 })
        bytes.append(0)
    }

    mutating func raw(_ value: some Sequence<UInt8>) { bytes.append(contentsOf: value) }
}
