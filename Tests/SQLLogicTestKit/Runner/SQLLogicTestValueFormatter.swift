import Foundation
public import MeshDB

/// Renders result values exactly as the reference implementation does (slt_sqlite.c): it asks
/// SQLite for each column as the query's type letter says (sqlite3_column_int64, _double,
/// _text) and prints that with SQLite's printf. Both the conversions between storage classes
/// and the printing are reproduced here, so every engine's values render alike whatever SQLite
/// the machine has. The printing matters: SQLite's printf rounds half up on decimal digits and
/// to 16 significant digits at most, unlike the C library's (0.0625 prints as 0.063, not
/// 0.062), and the corpus expects 2^63 as 9223372036854776000.000, which recent SQLite
/// releases print but 3.40, this machine's, does not.
public enum SQLLogicTestValueFormatter {
    public static func render(_ value: SQLiteValue, as type: SQLLogicTestColumnType) -> String {
        if case .null = value { return "NULL" }
        switch type {
        case .integer: return String(integerValue(value))
        case .real: return fixed3(realValue(value))
        case .text:
            // Most text is printable ASCII already: no byte array to build.
            if case .text(let text) = value, !text.isEmpty, text.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) { return text }
            return printable(textBytes(value))
        }
    }

    // MARK: SQLite's conversions (vdbemem.c, util.c)

    /// sqlite3_column_int64: a real truncated toward zero and clamped to the Int64 range
    /// (doubleToInt64); text by its leading integer, as sqlite3Atoi64 reads it. (slt_sqlite.c
    /// reads 32 bits, sqlite3_column_int; no corpus value needs more, and 64 bits keep a large
    /// value from wrapping into a wrong one that might match.)
    static func integerValue(_ value: SQLiteValue) -> Int64 {
        switch value {
        case .null: 0
        case .integer(let integer): integer
        case .real(let real): truncatedToInt64(real)
        case .text(let text): leadingInteger(Array(text.utf8))
        case .blob(let bytes): leadingInteger(bytes)
        }
    }

    /// sqlite3_column_double: text by its leading number, as sqlite3AtoF reads it.
    static func realValue(_ value: SQLiteValue) -> Double {
        switch value {
        case .null: 0
        case .integer(let integer): Double(integer)
        case .real(let real): real
        case .text(let text): leadingReal(Array(text.utf8))
        case .blob(let bytes): leadingReal(bytes)
        }
    }

    /// sqlite3_column_text: integers in decimal, reals as printf("%!.15g") (at least one
    /// digit after the point), text as it is; C reads it up to the first NUL byte.
    static func textBytes(_ value: SQLiteValue) -> [UInt8] {
        let bytes: [UInt8] = switch value {
        case .null: []
        case .integer(let integer): Array(String(integer).utf8)
        case .real(let real): Array(generic15(real).utf8)
        case .text(let text): Array(text.utf8)
        case .blob(let bytes): bytes
        }
        return Array(bytes.prefix { $0 != 0 })
    }

    static func truncatedToInt64(_ real: Double) -> Int64 {
        if real.isNaN { return 0 }
        if real <= Double(Int64.min) { return .min }
        if real >= Double(Int64.max) { return .max }
        return Int64(real)
    }

    /// Leading whitespace, a sign, then digits up to the first non-digit; out of range clamps.
    static func leadingInteger(_ bytes: [UInt8]) -> Int64 {
        var index = bytes.firstIndex { !isSQLiteSpace($0) } ?? bytes.endIndex
        var negative = false
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        var magnitude: UInt64 = 0
        var overflow = false
        while index < bytes.endIndex, isDigit(bytes[index]) {
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            overflow = overflow || o1 || o2
            magnitude = sum
            index += 1
        }
        if negative {
            return overflow || magnitude > UInt64(Int64.max) + 1 ? .min : Int64(truncatingIfNeeded: 0 &- magnitude)
        }
        return overflow || magnitude > UInt64(Int64.max) ? .max : Int64(magnitude)
    }

    /// Leading whitespace, then the longest prefix of the form [+-]digits[.digits][e[+-]digits].
    static func leadingReal(_ bytes: [UInt8]) -> Double {
        var index = bytes.firstIndex { !isSQLiteSpace($0) } ?? bytes.endIndex
        let start = index
        func skipDigits() -> Int {
            let from = index
            while index < bytes.endIndex, isDigit(bytes[index]) { index += 1 }
            return index - from
        }
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") { index += 1 }
        var digits = skipDigits()
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: ".") {
            index += 1
            digits += skipDigits()
        }
        guard digits > 0 else { return 0 }
        var end = index
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") { index += 1 }
            if skipDigits() > 0 { end = index }
        }
        return Double(String(decoding: bytes[start..<end], as: UTF8.self)) ?? 0
    }

    static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    /// sqlite3Isspace: space, \t, \n, \v, \f, \r.
    static func isSQLiteSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }

    // MARK: Printing

    /// "(empty)" for no bytes; every byte outside ' '...'~' (control characters, each byte of a
    /// non-ASCII character) as "@".
    static func printable(_ bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return "(empty)" }
        return String(decoding: bytes.map { (0x20...0x7E).contains($0) ? $0 : UInt8(ascii: "@") }, as: UTF8.self)
    }

    // MARK: SQLite's printf of doubles (printf.c, sqlite3FpDecode in util.c)

    /// printf("%.3f") as SQLite 3.43 and later print it, which is how the corpus's expected
    /// values read: the double's first 17 significant digits, rounded half up (on those digits)
    /// to 3 decimals but to 16 significant digits at most, then zeros. 2^63 prints as
    /// 9223372036854776000.000, and 0.0625 as 0.063 where the C library prints 0.062.
    static func fixed3(_ value: Double) -> String {
        let decimals = 3
        guard value.isFinite else { return value.isNaN ? "NaN" : (value < 0 ? "-Inf" : "Inf") }
        guard value != 0 else { return "0." + String(repeating: "0", count: decimals) }
        var decimal = DecimalDigits(abs(value))
        decimal.round(toSignificant: decimal.pointPosition + decimals, atMost: 16)
        let integerPart = decimal.pointPosition > 0
            ? String((0..<decimal.pointPosition).map { decimal.digit(at: $0) }) : "0"
        let fraction = String((0..<decimals).map { decimal.digit(at: decimal.pointPosition + $0) })
        return (value < 0 ? "-" : "") + integerPart + "." + fraction
    }

    /// printf("%!.15g") as SQLite prints it (a real's text): 15 significant digits, trailing zeros
    /// dropped but one digit kept after the point; an exponent (at least two digits) below 1e-4
    /// or from 1e15 on.
    static func generic15(_ value: Double) -> String {
        let precision = 15
        guard value.isFinite else { return value.isNaN ? "NaN" : (value < 0 ? "-Inf" : "Inf") }
        guard value != 0 else { return "0.0" }
        var decimal = DecimalDigits(abs(value))
        decimal.round(toSignificant: precision, atMost: precision)
        var digits = decimal.digits
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        let sign = value < 0 ? "-" : ""
        let exponent = decimal.pointPosition - 1
        if exponent < -4 || exponent >= precision {
            let mantissa = String(digits.first!) + "." + (digits.count > 1 ? String(digits.dropFirst()) : "0")
            let magnitude = String(abs(exponent))
            return sign + mantissa + (exponent < 0 ? "e-" : "e+") + (magnitude.count < 2 ? "0" : "") + magnitude
        }
        let integerPart = exponent >= 0 ? String((0...exponent).map { decimal.digit(at: $0) }) : "0"
        var fraction = exponent >= 0 ? String(digits.dropFirst(exponent + 1))
            : String(repeating: "0", count: -exponent - 1) + String(digits)
        if fraction.isEmpty { fraction = "0" }
        return sign + integerPart + "." + fraction
    }

    /// The significant decimal digits of a positive double, and where the point goes.
    struct DecimalDigits {
        /// Significant digits, the first one non-zero.
        var digits: [Character]
        /// How many of the digits stand before the point (negative: zeros after the point first).
        var pointPosition: Int

        /// The first 17 significant digits, correctly rounded (17 always identify the double).
        init(_ value: Double) {
            let scientific = String(format: "%.16e", value)  // d.dddddddddddddddde±XX
            let parts = scientific.split(separator: "e")
            digits = parts[0].filter(\.isNumber).map { $0 }
            pointPosition = Int(parts[1])! + 1
        }

        /// Rounds half up to `significant` digits, but to `limit` at most; a count below zero
        /// leaves the value as it is (it prints as zeros), and zero rounds to 0 or to one unit
        /// of the place before the first digit.
        mutating func round(toSignificant significant: Int, atMost limit: Int) {
            var keep = min(significant, limit)
            if keep == 0, let first = digits.first, first >= "5" {
                digits.insert("0", at: 0)
                pointPosition += 1
                keep = 1
            }
            guard keep > 0, keep < digits.count else { return }
            let roundsUp = digits[keep] >= "5"
            digits.removeLast(digits.count - keep)
            guard roundsUp else { return }
            var index = keep - 1
            while true {
                if digits[index] != "9" {
                    digits[index] = Character(UnicodeScalar(digits[index].asciiValue! + 1))
                    return
                }
                digits[index] = "0"
                guard index > 0 else {
                    digits.insert("1", at: 0)
                    pointPosition += 1
                    return
                }
                index -= 1
            }
        }

        /// The digit at `position` counted from the first significant one; 0 beyond the digits.
        func digit(at position: Int) -> Character {
            digits.indices.contains(position) ? digits[position] : "0"
        }
    }
}
