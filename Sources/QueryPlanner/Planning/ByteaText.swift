/// PostgreSQL's text input for bytea (https://www.postgresql.org/docs/current/datatype-binary.html):
/// the hex format `\x0aff` (pairs of hex digits, whitespace between pairs allowed), else the escape
/// format, where `\\` is a backslash, `\ooo` an octal byte and every other character stands for
/// its UTF-8 bytes. MeshDB converts text to bytea this way wherever PostgreSQL would: a string
/// literal cast to bytea, and text stored in a bytea column.
public enum ByteaText {
    /// Nil when `text` is neither format (an odd hex digit count, a lone backslash).
    public static func bytes(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        if utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x") || utf8[1] == UInt8(ascii: "X") {
            return hexBytes(utf8[2...])
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            guard byte == UInt8(ascii: "\\") else {
                bytes.append(byte)
                index += 1
                continue
            }
            if index + 1 < utf8.count, utf8[index + 1] == UInt8(ascii: "\\") {
                bytes.append(byte)
                index += 2
            } else if index + 3 < utf8.count, let value = octal(utf8[(index + 1)...(index + 3)]) {
                bytes.append(value)
                index += 4
            } else {
                return nil
            }
        }
        return bytes
    }

    /// The message for text that is not bytea input, as PostgreSQL words it.
    public static let invalidMessage = "invalid input syntax for type bytea"

    private static func hexBytes(_ digits: ArraySlice<UInt8>) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var high: UInt8?
        for digit in digits {
            if high == nil, digit == UInt8(ascii: " ") || digit == UInt8(ascii: "\n") || digit == UInt8(ascii: "\t") || digit == UInt8(ascii: "\r") {
                continue
            }
            guard let nibble = Lexer.hexValue(digit) else { return nil }
            if let first = high {
                bytes.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return high == nil ? bytes : nil
    }

    /// Three octal digits, the first 0–3.
    private static func octal(_ digits: ArraySlice<UInt8>) -> UInt8? {
        guard digits.count == 3, let first = digits.first, (UInt8(ascii: "0")...UInt8(ascii: "3")).contains(first),
              digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "7")).contains($0) }) else { return nil }
        return digits.reduce(UInt8(0)) { $0 << 3 | ($1 - UInt8(ascii: "0")) }
    }
}
