import Foundation
public import MeshDB
public import QueryPlanner

/// Converts between MeshDB's stored values (`SQLiteValue`) and the text (format 0) and binary
/// (format 1) forms of PostgreSQL types on the wire. Results are encoded as the type their column
/// was described with, converting when the stored value has another storage class (an integer in a
/// text column is sent as its digits), so a RowDescription and its DataRows always agree.
public enum WireValueCodec {
    /// 2000-01-01 00:00:00, PostgreSQL's epoch for binary timestamps, in days after 1970-01-01.
    static let postgresEpochDays: Int64 = 10_957
    static let microsecondsPerDay: Int64 = 86_400_000_000

    /// The type a result column is described with when the SQL layer gives none: that of its first
    /// non-NULL value (integer → int8, real → float8, text → text, blob → bytea), text if all are NULL.
    public static func inferType(column: Int, rows: [[SQLiteValue]]) -> WireType {
        for row in rows where column < row.count {
            switch row[column] {
            case .null: continue
            case .integer: return .int8
            case .real: return .float8
            case .text: return .text
            case .blob: return .bytea
            }
        }
        return .text
    }

    // MARK: Results

    /// The bytes of `value` in a column of `type`, nil for NULL. Text never fails; binary fails
    /// as `binary` says.
    public static func encode(_ value: SQLiteValue, as type: WireType, format: Int16) throws(SQLError) -> [UInt8]? {
        if format == 0 { return textBytes(value, as: type) }
        if case .null = value { return nil }
        return try binary(value, as: type)
    }

    /// The bytes of `value`'s text form (format 0), nil for NULL: every value has one.
    public static func textBytes(_ value: SQLiteValue, as type: WireType) -> [UInt8]? {
        if case .null = value { return nil }
        return Array(text(value, as: type).utf8)
    }

    /// The binary form (format 1) of a non-NULL `value` as `type`. Never text bytes labelled
    /// binary, which drivers misread (asyncpg decoded `select current_date` as a year out of
    /// range, psycopg the oid 1 as 822083584): a type without a binary form is refused with
    /// PostgreSQL's error for a type without a send function (42883), and a value that is not
    /// one of its type (text that is no date) with 22007 / 22P02, naming the value.
    static func binary(_ value: SQLiteValue, as type: WireType) throws(SQLError) -> [UInt8] {
        switch type.oid {
        case WireType.int2.oid: return bigEndian(Int16(truncatingIfNeeded: integer(value)))
        case WireType.int4.oid: return bigEndian(Int32(truncatingIfNeeded: integer(value)))
        case WireType.int8.oid: return bigEndian(integer(value))
        case WireType.float4.oid: return bigEndian(Float(real(value)).bitPattern)
        case WireType.float8.oid: return bigEndian(real(value).bitPattern)
        case WireType.bool.oid: return [integer(value) != 0 ? 1 : 0]
        case WireType.bytea.oid:
            if case .blob(let bytes) = value { return bytes }
            return Array(text(value, as: .text).utf8)
        case WireType.numeric.oid: return binaryNumeric(text(value, as: .numeric))
        // The string types' binary form is their text.
        case WireType.text.oid, WireType.varchar.oid, WireType.bpchar.oid, WireType.name.oid, WireType.unknown.oid:
            return Array(text(value, as: type).utf8)
        case WireType.oidType.oid, WireType.regclass.oid, WireType.regtype.oid, WireType.regproc.oid:
            // oidsend: an unsigned 32-bit integer. oidin also takes -2147483648...-1, as the
            // same bits.
            guard let number = exactInteger(value), number >= Int64(Int32.min), number <= Int64(UInt32.max) else {
                throw SQLError(SQLState("22P02"), "invalid input syntax for type \(type.name): \"\(text(value, as: .text))\"")
            }
            return bigEndian(UInt32(truncatingIfNeeded: number))
        case WireType.date.oid:
            let written = text(value, as: .text)
            guard let instant = instant(written) else { throw invalidDateTime(type, written) }
            switch instant {
            case .infinity: return bigEndian(Int32.max)
            case .minusInfinity: return bigEndian(Int32.min)
            case .micros(let micros, _):
                // Four-digit years: always within date's range.
                return bigEndian(Int32(micros / microsecondsPerDay - (micros % microsecondsPerDay < 0 ? 1 : 0)))
            }
        case WireType.timestamp.oid, WireType.timestamptz.oid:
            let written = text(value, as: .text)
            guard let instant = instant(written) else { throw invalidDateTime(type, written) }
            switch instant {
            case .infinity: return bigEndian(Int64.max)
            case .minusInfinity: return bigEndian(Int64.min)
            case .micros(let micros, let offsetSeconds):
                // timestamp ignores a written offset, as PostgreSQL's input does; timestamptz is
                // sent in UTC, and a value without an offset is taken as UTC (the session's
                // TimeZone).
                guard type.oid == WireType.timestamptz.oid else { return bigEndian(micros) }
                return bigEndian(micros - (offsetSeconds ?? 0) * 1_000_000)
            }
        default:
            throw noBinaryForm(type)
        }
    }

    /// Whether `binary` can send a column of `type` (what a value holds aside).
    static func hasBinaryForm(_ type: WireType) -> Bool { WireType.known.contains(type) }

    /// PostgreSQL's refusal of binary output for a type without a send function.
    static func noBinaryForm(_ type: WireType, column: String? = nil) -> SQLError {
        SQLError(SQLState("42883"), "no binary output function available for type \(type.name)" + (column.map { " (column \"\($0)\")" } ?? ""),
                 hint: "ask for this column in text format (result format code 0)")
    }

    private static func invalidDateTime(_ type: WireType, _ written: String) -> SQLError {
        let spelled = PostgresType(oid: UInt32(bitPattern: type.oid))?.formatted() ?? type.name
        return SQLError(SQLState("22007"), "invalid input syntax for type \(spelled): \"\(written)\"")
    }

    /// The text form PostgreSQL would print for `value` as `type`.
    public static func text(_ value: SQLiteValue, as type: WireType) -> String {
        switch value {
        case .null: return ""
        case .integer(let integer):
            if type.oid == WireType.bool.oid { return integer != 0 ? "t" : "f" }
            return String(integer)
        case .real(let real): return floatText(real)
        case .text(let text):
            if type.oid == WireType.bool.oid, let flag = boolean(text) { return flag ? "t" : "f" }
            return text
        case .blob(let bytes):
            return "\\x" + bytes.map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 0xF)] }.joined()
        }
    }

    private static let hexDigits = (0..<16).map { String($0, radix: 16) }

    /// float8out: integral values without a fraction ("3", not "3.0"), Infinity and NaN spelled as
    /// PostgreSQL does, otherwise the shortest text that reads back to the same double.
    static func floatText(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    private static func integer(_ value: SQLiteValue) -> Int64 {
        switch value {
        case .integer(let integer): integer
        case .real(let real): real.isFinite ? Int64(exactly: real.rounded()) ?? 0 : 0
        case .text(let text): Int64(text) ?? (boolean(text).map { $0 ? 1 : 0 } ?? 0)
        case .blob, .null: 0
        }
    }

    /// The integer `value` holds exactly (an integer, a whole real, or integer text), nil otherwise.
    private static func exactInteger(_ value: SQLiteValue) -> Int64? {
        switch value {
        case .integer(let integer): integer
        case .real(let real): Int64(exactly: real)
        case .text(let text): Int64(text.trimmingCharacters(in: .whitespaces))
        case .blob, .null: nil
        }
    }

    private static func real(_ value: SQLiteValue) -> Double {
        switch value {
        case .integer(let integer): Double(integer)
        case .real(let real): real
        case .text(let text): Double(text) ?? 0
        case .blob, .null: 0
        }
    }

    private static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "t", "true", "yes", "on", "1", "y": true
        case "f", "false", "no", "off", "0", "n": false
        default: nil
        }
    }

    static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    // MARK: Parameters

    /// A Bind parameter as a value for SQLite, read by its declared type (OID 0 or unknown: text).
    public static func decode(_ bytes: [UInt8], as type: WireType, format: Int16, parameter: Int) throws(SQLError) -> SQLiteValue {
        func invalid(_ what: String) -> SQLError {
            SQLError(SQLState("22P02"), "invalid \(format == 0 ? "text" : "binary") value for parameter $\(parameter) of type \(type.name): \(what)")
        }
        if format == 1 {
            func fixed(_ size: Int) throws(SQLError) -> UInt64 {
                guard bytes.count == size else { throw invalid("\(bytes.count) bytes, expected \(size)") }
                return bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            }
            switch type.oid {
            case WireType.int2.oid: return .integer(Int64(Int16(truncatingIfNeeded: try fixed(2))))
            case WireType.int4.oid: return .integer(Int64(Int32(truncatingIfNeeded: try fixed(4))))
            case WireType.int8.oid: return .integer(Int64(bitPattern: try fixed(8)))
            case WireType.float4.oid: return .real(Double(Float(bitPattern: UInt32(try fixed(4)))))
            case WireType.float8.oid: return .real(Double(bitPattern: try fixed(8)))
            case WireType.bool.oid: return .integer(try fixed(1) == 0 ? 0 : 1)
            case WireType.bytea.oid: return .blob(bytes)
            case WireType.oidType.oid, WireType.regclass.oid, WireType.regtype.oid, WireType.regproc.oid:
                return .integer(Int64(UInt32(try fixed(4))))
            case WireType.date.oid:
                switch Int32(truncatingIfNeeded: try fixed(4)) {
                case .max: return .text("infinity")
                case .min: return .text("-infinity")
                case let days:
                    guard Self.dateDays.contains(Int64(days)) else { throw invalid("date out of range") }
                    return .text(dateText(days: Int64(days)))
                }
            case WireType.timestamp.oid, WireType.timestamptz.oid:
                let suffix = type.oid == WireType.timestamptz.oid ? "+00" : ""
                switch Int64(bitPattern: try fixed(8)) {
                case .max: return .text("infinity")
                case .min: return .text("-infinity")
                case let micros:
                    guard Self.timestampMicros.contains(micros) else { throw invalid("timestamp out of range") }
                    return .text(timestampText(micros) + suffix)
                }
            case WireType.numeric.oid:
                guard let text = numericText(binary: bytes) else { throw invalid("not a binary numeric") }
                return numericValue(text)
            default:
                guard let text = String(validating: bytes, as: UTF8.self) else { throw invalid("not valid UTF-8") }
                return .text(text)
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw invalid("not valid UTF-8") }
        let trimmed = trimmingWhitespace(text, utf8: bytes)
        switch type.oid {
        case WireType.int2.oid, WireType.int4.oid, WireType.int8.oid:
            guard let integer = Int64(trimmed) else { throw invalid("\"\(text)\" is not an integer") }
            return .integer(integer)
        case WireType.float4.oid, WireType.float8.oid:
            switch trimmed.lowercased() {
            case "nan": return .real(.nan)
            case "infinity", "+infinity", "inf": return .real(.infinity)
            case "-infinity", "-inf": return .real(-.infinity)
            default:
                guard let real = Double(trimmed) else { throw invalid("\"\(text)\" is not a number") }
                return .real(real)
            }
        case WireType.numeric.oid:
            guard Double(trimmed) != nil else { throw invalid("\"\(text)\" is not a number") }
            return numericValue(trimmed)
        case WireType.bool.oid:
            guard let flag = boolean(trimmed) else { throw invalid("\"\(text)\" is not a boolean") }
            return .integer(flag ? 1 : 0)
        case WireType.bytea.oid:
            guard let blob = ByteaText.bytes(text) else { throw invalid("\(ByteaText.invalidMessage): \\x followed by hex digits, or the escape format") }
            return .blob(blob)
        default:
            return .text(text)
        }
    }

    /// A numeric kept exact where SQLite can: an integer when it is one and fits, else a double.
    private static func numericValue(_ text: String) -> SQLiteValue {
        if let integer = Int64(text) { return .integer(integer) }
        return .real(Double(text) ?? .nan)
    }


    /// `text.trimmingCharacters(in: .whitespaces)`, without Foundation's character sets when
    /// there is nothing to trim: a value that starts and ends with a visible ASCII character is
    /// itself. Foundation's trim was two thirds of `decode`'s time in a profile of `pgbench -i`.
    static func trimmingWhitespace(_ text: String, utf8 bytes: [UInt8]) -> String {
        let visibleASCII: ClosedRange<UInt8> = 0x21...0x7E
        if let first = bytes.first, let last = bytes.last, visibleASCII.contains(first), visibleASCII.contains(last) {
            return text
        }
        return text.trimmingCharacters(in: .whitespaces)
    }

    // MARK: numeric

    /// numeric_send: sign, weight and dscale, then the digits in base 10000 (most significant first),
    /// the integer part grouped from the decimal point leftwards and the fraction rightwards.
    static func binaryNumeric(_ text: String) -> [UInt8] {
        var writer = WireWriter()
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard Double(trimmed) != nil, !trimmed.lowercased().contains("n"), !trimmed.lowercased().contains("e") else {
            if let double = Double(trimmed), double.isFinite {
                return binaryNumeric(plainDecimal(double))
            }
            writer.int16(0); writer.int16(0); writer.int16(Int16(bitPattern: 0xC000)); writer.int16(0)
            return writer.bytes  // NaN
        }
        let negative = trimmed.hasPrefix("-")
        let unsigned = trimmed.drop { $0 == "-" || $0 == "+" }
        let parts = unsigned.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        var integerDigits = String(parts[0]).drop { $0 == "0" }
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        let dscale = fraction.count
        let integerPad = (4 - integerDigits.count % 4) % 4
        integerDigits = Substring(String(repeating: "0", count: integerPad) + integerDigits)
        let fractionPadded = fraction + String(repeating: "0", count: (4 - fraction.count % 4) % 4)
        var groups: [Int16] = []
        var index = integerDigits.startIndex
        while index < integerDigits.endIndex {
            let end = integerDigits.index(index, offsetBy: 4)
            groups.append(Int16(integerDigits[index..<end])!)
            index = end
        }
        var weight = groups.count - 1
        var fractionIndex = fractionPadded.startIndex
        while fractionIndex < fractionPadded.endIndex {
            let end = fractionPadded.index(fractionIndex, offsetBy: 4)
            groups.append(Int16(fractionPadded[fractionIndex..<end])!)
            fractionIndex = end
        }
        while let first = groups.first, first == 0 {
            groups.removeFirst()
            weight -= 1
        }
        while let last = groups.last, last == 0 { groups.removeLast() }
        if groups.isEmpty { weight = 0 }
        writer.int16(Int16(groups.count))
        writer.int16(Int16(weight))
        writer.int16(negative && !groups.isEmpty ? 0x4000 : 0)
        writer.int16(Int16(dscale))
        for group in groups { writer.int16(group) }
        return writer.bytes
    }

    /// A double without exponent notation, for numeric's digit groups.
    private static func plainDecimal(_ value: Double) -> String {
        var digits = String(value)
        guard let e = digits.firstIndex(where: { $0 == "e" || $0 == "E" }), let exponent = Int(digits[digits.index(after: e)...]) else {
            return digits
        }
        let negative = value < 0
        digits = String(digits[..<e]).replacingOccurrences(of: "-", with: "")
        let point = digits.firstIndex(of: ".").map { digits.distance(from: digits.startIndex, to: $0) } ?? digits.count
        let bare = digits.replacingOccurrences(of: ".", with: "")
        let newPoint = point + exponent
        let result: String
        if newPoint <= 0 {
            result = "0." + String(repeating: "0", count: -newPoint) + bare
        } else if newPoint >= bare.count {
            result = bare + String(repeating: "0", count: newPoint - bare.count)
        } else {
            result = String(bare.prefix(newPoint)) + "." + String(bare.dropFirst(newPoint))
        }
        return (negative ? "-" : "") + result
    }

    /// numeric_recv's input back to decimal text; nil when the header or a digit is out of range.
    static func numericText(binary bytes: [UInt8]) -> String? {
        var reader = WireReader(bytes, message: "numeric")
        guard let count = try? reader.count16("ndigits"), let weight = try? reader.int16("weight"),
              let sign = try? reader.int16("sign"), let dscale = try? reader.count16("dscale") else { return nil }
        if UInt16(bitPattern: sign) == 0xC000 { return "NaN" }
        guard sign == 0 || sign == 0x4000 else { return nil }
        var groups: [Int] = []
        for _ in 0..<count {
            guard let group = try? reader.int16("digit"), (0..<10_000).contains(group) else { return nil }
            groups.append(Int(group))
        }
        guard reader.remaining == 0 else { return nil }
        var integerPart = ""
        var fractionPart = ""
        for position in 0...max(Int(weight), 0) {
            let group = position < groups.count && Int(weight) >= 0 ? groups[position] : 0
            let digits = String(group)
            integerPart += position == 0 ? digits : String(repeating: "0", count: 4 - digits.count) + digits
        }
        if weight < 0 { integerPart = "0" }
        let fractionStart = Int(weight) + 1
        for position in fractionStart..<max(groups.count, fractionStart) {
            let group = position >= 0 ? groups[position] : 0
            let digits = String(group)
            fractionPart += String(repeating: "0", count: 4 - digits.count) + digits
        }
        fractionPart = String(fractionPart.prefix(dscale))
        fractionPart += String(repeating: "0", count: max(0, dscale - fractionPart.count))
        let text = integerPart + (dscale > 0 ? "." + fractionPart : "")
        return (sign == 0x4000 ? "-" : "") + text
    }

    // MARK: timestamp

    /// A date or time as written: infinity either way, or microseconds since 2000-01-01 and the
    /// UTC offset written after it, if any.
    enum Instant: Equatable {
        case infinity, minusInfinity
        case micros(Int64, offsetSeconds: Int64?)
    }

    /// "YYYY-MM-DD[ HH:MM:SS[.ffffff]][offset]" (or with 'T'), the offset being Z, ±HH, ±HH:MM,
    /// ±HHMM or ±HH:MM:SS, or [-]infinity; nil otherwise.
    static func instant(_ text: String) -> Instant? {
        switch text.lowercased() {
        case "infinity", "+infinity": return .infinity
        case "-infinity": return .minusInfinity
        default: break
        }
        let characters = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= characters.count else { return nil }
            var value: Int64 = 0
            for index in range {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(characters[index]) else { return nil }
                value = value * 10 + Int64(characters[index] - UInt8(ascii: "0"))
            }
            return value
        }
        guard characters.count >= 10, characters[4] == UInt8(ascii: "-"), characters[7] == UInt8(ascii: "-"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var micros: Int64 = 0
        var index = 10
        if index < characters.count {
            guard characters.count >= 19, characters[10] == UInt8(ascii: " ") || characters[10] == UInt8(ascii: "T"),
                  characters[13] == UInt8(ascii: ":"), characters[16] == UInt8(ascii: ":"),
                  let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
                  hour < 24, minute < 60, second < 61 else { return nil }
            micros = ((hour * 60 + minute) * 60 + second) * 1_000_000
            index = 19
            if index < characters.count, characters[index] == UInt8(ascii: ".") {
                let digitsEnd = characters[(index + 1)...].firstIndex { !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } ?? characters.count
                guard digitsEnd > index + 1, digitsEnd - index - 1 <= 6, let fraction = number((index + 1)..<digitsEnd) else { return nil }
                micros += fraction * Int64(pow10(6 - (digitsEnd - index - 1)))
                index = digitsEnd
            }
        }
        let dayMicros = (daysFromCivil(year: year, month: month, day: day) - postgresEpochDays) * microsecondsPerDay + micros
        guard index < characters.count else { return .micros(dayMicros, offsetSeconds: nil) }
        guard index > 10, let offset = offsetSeconds(characters[index...]) else { return nil }
        return .micros(dayMicros, offsetSeconds: offset)
    }

    /// A UTC offset in seconds east: Z, or a sign and HH, HH:MM, HHMM or HH:MM:SS.
    private static func offsetSeconds(_ written: ArraySlice<UInt8>) -> Int64? {
        if written.elementsEqual([UInt8(ascii: "Z")]) { return 0 }
        guard let sign = written.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return nil }
        let digits = written.dropFirst().filter { $0 != UInt8(ascii: ":") }.map { Int64($0) - Int64(UInt8(ascii: "0")) }
        let colons = written.count - 1 - digits.count
        guard [2, 4, 6].contains(digits.count), colons == 0 || colons == digits.count / 2 - 1,
              digits.allSatisfy({ (0...9).contains($0) }) else { return nil }
        let parts = stride(from: 0, to: digits.count, by: 2).map { digits[$0] * 10 + digits[$0 + 1] }
        guard parts[0] <= 15, parts.dropFirst().allSatisfy({ $0 < 60 }) else { return nil }
        let seconds = parts[0] * 3600 + (parts.count > 1 ? parts[1] * 60 : 0) + (parts.count > 2 ? parts[2] : 0)
        return sign == UInt8(ascii: "-") ? -seconds : seconds
    }

    private static func pow10(_ exponent: Int) -> Int { (0..<exponent).reduce(1) { value, _ in value * 10 } }

    /// PostgreSQL's range of dates, in days since 2000-01-01: 4713-11-24 BC (Julian day 0) up to
    /// 5874897-12-31. Binary input outside it is refused, as date_recv refuses it (and the
    /// arithmetic below stays within 64 bits).
    static let dateDays: Range<Int64> = -2_451_545..<2_145_031_949
    /// PostgreSQL's range of timestamps, in microseconds since 2000-01-01: MIN_TIMESTAMP up to
    /// END_TIMESTAMP (294277-01-01).
    static let timestampMicros: Range<Int64> = -211_813_488_000_000_000..<9_223_371_331_200_000_000

    private static func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// Days since 2000-01-01 as "YYYY-MM-DD".
    static func dateText(days: Int64) -> String {
        let (year, month, day) = civilFromDays(days + postgresEpochDays)
        return "\(String(repeating: "0", count: max(0, 4 - String(year).count)))\(year)-\(two(month))-\(two(day))"
    }

    /// Microseconds since 2000-01-01 (within `timestampMicros`) as "YYYY-MM-DD HH:MM:SS[.ffffff]".
    static func timestampText(_ micros: Int64) -> String {
        let days = micros / microsecondsPerDay - (micros % microsecondsPerDay < 0 ? 1 : 0)
        var rest = micros - days * microsecondsPerDay
        let fraction = rest % 1_000_000
        rest /= 1_000_000
        var text = dateText(days: days) + " \(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))"
        if fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 6 - digits.count) + digits
            while digits.last == "0" { digits.removeLast() }
            text += "." + digits
        }
        return text
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// (year, month, day) of a proleptic Gregorian date given as days since 1970-01-01 (public for the
    /// SQL shell, which prints PostgreSQL dates with it).
    public static func civilFromDays(_ days: Int64) -> (Int64, Int64, Int64) {
        let date = CivilDate.fromDays(days)
        return (date.year, date.month, date.day)
    }
}
