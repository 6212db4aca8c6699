import Foundation
import MeshDB
import Testing
@testable import SQLLogicTestKit

/// Values render as slt_sqlite.c renders them; results sort and hash as sqllogictest.c does.
@Suite struct SQLLogicTestFormattingTests {
    func render(_ value: SQLiteValue, _ type: SQLLogicTestColumnType) -> String {
        SQLLogicTestValueFormatter.render(value, as: type)
    }

    @Test func integersTruncateRealsTowardZeroAndReadTextsLeadingDigits() {
        #expect(render(.integer(-42), .integer) == "-42")
        #expect(render(.real(2.9), .integer) == "2")
        #expect(render(.real(-2.9), .integer) == "-2")
        #expect(render(.real(1e30), .integer) == "9223372036854775807")
        #expect(render(.real(-1e30), .integer) == "-9223372036854775808")
        #expect(render(.text(" 12abc"), .integer) == "12")
        #expect(render(.text("-7.9"), .integer) == "-7")
        #expect(render(.text("abc"), .integer) == "0")
        #expect(render(.text("99999999999999999999"), .integer) == "9223372036854775807")
        #expect(render(.null, .integer) == "NULL")
    }

    @Test func realsPrintWithThreeDecimalsRoundingHalfUpOnSixteenDigits() {
        #expect(render(.integer(7), .real) == "7.000")
        #expect(render(.real(-0.5), .real) == "-0.500")
        #expect(render(.real(0), .real) == "0.000")
        // Exact binary ties round up (the C library rounds these to even: 0.062).
        #expect(render(.real(0.0625), .real) == "0.063")
        #expect(render(.real(-0.0625), .real) == "-0.063")
        #expect(render(.real(0.0005), .real) == "0.001")
        #expect(render(.real(0.0004), .real) == "0.000")
        #expect(render(.real(9.9996), .real) == "10.000")
        // 1.0005 is 1.000499999999999944… as a double: below the half; 2.0005 is above it.
        #expect(render(.real(1.0005), .real) == "1.000")
        #expect(render(.real(2.0005), .real) == "2.001")
        // Sixteen significant digits at most: what evidence/slt_lang_aggfunc.test expects.
        #expect(render(.real(-9223372036854775808.0), .real) == "-9223372036854776000.000")
        #expect(render(.real(-18446744073709551616.0), .real) == "-18446744073709550000.000")
        #expect(render(.text("2.5e1x"), .real) == "25.000")
        #expect(render(.text("x"), .real) == "0.000")
    }

    /// Away from ties and beyond 16 digits, SQLite's rounding is the C library's.
    @Test func realsAgreeWithCPrintfAwayFromTies() {
        for numerator in -300...300 {
            let value = Double(numerator) / 7 * 13.37
            #expect(render(.real(value), .real) == String(format: "%.3f", value), "\(value)")
        }
    }

    @Test func textIsPrintableASCIIWithEmptyAndNullSpelledOut() {
        #expect(render(.text(""), .text) == "(empty)")
        #expect(render(.text("a\tb\u{7F}"), .text) == "a@b@")
        #expect(render(.text("é"), .text) == "@@")
        #expect(render(.text("ab\u{0}cd"), .text) == "ab")
        #expect(render(.null, .text) == "NULL")
        #expect(render(.integer(-3), .text) == "-3")
        #expect(render(.blob([0x41, 0x0A]), .text) == "A@")
    }

    /// A real as text is SQLite's "%!.15g".
    @Test func realsAsTextReadAsSQLiteWritesThem() {
        #expect(render(.real(1), .text) == "1.0")
        #expect(render(.real(0.1), .text) == "0.1")
        #expect(render(.real(-2.5), .text) == "-2.5")
        #expect(render(.real(1.0 / 3), .text) == "0.333333333333333")
        #expect(render(.real(123456789012345), .text) == "123456789012345.0")
        #expect(render(.real(1e15), .text) == "1.0e+15")
        #expect(render(.real(1.5e-5), .text) == "1.5e-05")
        #expect(render(.real(0.0001), .text) == "0.0001")
    }

    @Test func rowSortComparesBytesRowByRow() {
        let values = ["9", "b", "10", "a", "10", "(empty)", "NULL", "z"]
        #expect(SQLLogicTestResultLines.sorted(values, columns: 2, by: .rowSort) == ["10", "(empty)", "10", "a", "9", "b", "NULL", "z"])
        #expect(SQLLogicTestResultLines.sorted(values, columns: 2, by: .valueSort) == ["(empty)", "10", "10", "9", "NULL", "a", "b", "z"])
        #expect(SQLLogicTestResultLines.sorted(values, columns: 2, by: .noSort) == values)
        // Row "a" sorts before row "ab" however the next column compares.
        #expect(SQLLogicTestResultLines.sorted(["ab", "1", "a", "2"], columns: 2, by: .rowSort) == ["a", "2", "ab", "1"])
    }

    @Test func resultsAboveTheThresholdCompareAsAnMD5OfTheirLines() {
        let values = ["1", "2", "3"]
        #expect(SQLLogicTestResultLines.md5(of: values) == "c0710d6b4f15dfa88f600b0e6b624077")
        #expect(SQLLogicTestResultLines.md5(of: []) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(SQLLogicTestResultLines.comparable(values, hashThreshold: 2, md5: SQLLogicTestResultLines.md5(of: values))
                == ["3 values hashing to c0710d6b4f15dfa88f600b0e6b624077"])
        #expect(SQLLogicTestResultLines.comparable(values, hashThreshold: 3, md5: "unused") == values)
        #expect(SQLLogicTestResultLines.comparable(values, hashThreshold: 0, md5: "unused") == values)
        #expect(SQLLogicTestResultLines.hash(inLine: "3 values hashing to c0710d6b4f15dfa88f600b0e6b624077") == "c0710d6b4f15dfa88f600b0e6b624077")
        #expect(SQLLogicTestResultLines.hash(inLine: "3 values") == nil)
    }
}
