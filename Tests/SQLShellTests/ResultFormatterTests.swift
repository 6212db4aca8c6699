import Testing
@testable import SQLShell

/// Expected texts are psql 15's output for the same results (`psql -c`, `-x`, `--csv`), with this
/// shell's NULL marker where psql prints nothing.
struct ResultFormatterTests {
    private let mixed = ResultTable(
        columns: [.init("id", isNumeric: true), .init("name"), .init("n"), .init("m"), .init("nu", isNumeric: true)],
        rows: [["1", "ann", nil, "a\nb", "12.5"]])

    @Test func alignedMatchesPsql() {
        var format = OutputFormat()
        format.nullDisplay = ""
        let text = ResultFormatter.render(mixed, as: format)
        #expect(text == """
             id | name | n | m |  nu  
            ----+------+---+---+------
              1 | ann  |   | a+| 12.5
                |      |   | b | 
            (1 row)


            """)
    }

    @Test func nullIsShownDistinctlyFromAnEmptyString() {
        let table = ResultTable(columns: [.init("a"), .init("b")], rows: [[nil, ""]])
        let text = ResultFormatter.render(table, as: OutputFormat())
        #expect(text.contains(" ∅ | \n"))
    }

    @Test func anEmptyResultStillHasItsHeader() {
        let table = ResultTable(columns: [.init("id", isNumeric: true)], rows: [])
        #expect(ResultFormatter.render(table, as: OutputFormat()) == " id \n----\n(0 rows)\n\n")
    }

    @Test func expandedMatchesPsql() {
        var format = OutputFormat()
        format.expanded = .on
        format.nullDisplay = ""
        let table = ResultTable(columns: [.init("id", isNumeric: true), .init("name")],
                                rows: [["1", "a long value here"], ["22", nil]])
        #expect(ResultFormatter.render(table, as: format) == """
            -[ RECORD 1 ]-----------
            id   | 1
            name | a long value here
            -[ RECORD 2 ]-----------
            id   | 22
            name | 


            """)
        let multiline = ResultTable(columns: [.init("id"), .init("name"), .init("m")], rows: [["1", "ann", "a\nb"]])
        #expect(ResultFormatter.render(multiline, as: format) == """
            -[ RECORD 1 ]
            id   | 1
            name | ann
            m    | a    +
                 | b


            """)
    }

    @Test func autoExpandsOnlyWhatIsWiderThanTheTerminal() {
        var format = OutputFormat()
        format.expanded = .auto
        format.terminalWidth = 40
        let narrow = ResultTable(columns: [.init("a")], rows: [["x"]])
        #expect(ResultFormatter.render(narrow, as: format).hasPrefix(" a \n"))
        let wide = ResultTable(columns: [.init("a")], rows: [[String(repeating: "w", count: 60)]])
        #expect(ResultFormatter.render(wide, as: format).hasPrefix("-[ RECORD 1 ]"))
        format.terminalWidth = nil
        #expect(ResultFormatter.render(wide, as: format).hasPrefix(" "))
    }

    @Test func aTitleIsCenteredOverTheTable() {
        let table = ResultTable(columns: [.init("Schema"), .init("Name")], rows: [["public", "accounts"]], title: "List of relations")
        let text = ResultFormatter.render(table, as: OutputFormat())
        #expect(text.hasPrefix(" List of relations\n Schema |   Name   \n"))
    }

    @Test func wideCharactersTakeTwoColumns() {
        let table = ResultTable(columns: [.init("name"), .init("n", isNumeric: true)], rows: [["東京", "1"], ["café", "22"]])
        var format = OutputFormat()
        format.nullDisplay = ""
        // psql 15: ` name | n  ` / `------+----` / ` 東京 |  1` / ` café | 22`
        #expect(ResultFormatter.render(table, as: format) == " name | n  \n------+----\n 東京 |  1\n café | 22\n(2 rows)\n\n")
        #expect(ResultFormatter.displayWidth("e\u{301}") == 1)
    }

    @Test func csvMatchesPsql() {
        let table = ResultTable(columns: [.init("id"), .init("name"), .init("n"), .init("e"), .init("s")],
                                rows: [["1", "a,b", nil, "", " x"], ["2", "say \"hi\"", "l1\nl2", "", ""]])
        #expect(ResultFormatter.render(table, as: OutputFormat(style: .csv)) == """
            id,name,n,e,s
            1,"a,b",,, x
            2,"say ""hi\""","l1
            l2",,

            """)
    }

    @Test func jsonKeepsColumnOrderNumbersAndNulls() {
        let table = ResultTable(columns: [.init("id", isNumeric: true), .init("label"), .init("f", isNumeric: true)],
                                rows: [["1", "a \"q\"\n", "NaN"], ["2", nil, "-1.5e3"]])
        #expect(ResultFormatter.render(table, as: OutputFormat(style: .json)) == """
            [{"id":1,"label":"a \\"q\\"\\n","f":"NaN"},
             {"id":2,"label":null,"f":-1.5e3}]

            """)
        #expect(ResultFormatter.render(ResultTable(columns: [.init("a")], rows: []), as: OutputFormat(style: .json)) == "[]\n")
    }

    @Test func jsonNumberGrammar() {
        for number in ["0", "-0", "12", "1.5", "-1.5e-3", "2E10"] { #expect(ResultFormatter.isJSONNumber(number), "\(number)") }
        for text in ["", "01", "1.", ".5", "1e", "Infinity", "NaN", "+1", "1 "] { #expect(!ResultFormatter.isJSONNumber(text), "\(text)") }
    }
}
