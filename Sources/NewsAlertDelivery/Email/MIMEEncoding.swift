import Foundation

/// The low-level encoders behind ``MIMEComposer``: line-ending normalisation, quoted-printable,
/// base64, RFC 2047 encoded-words, header folding and RFC 5322 dates.
enum MIMEEncoding {
    static let crlf: [UInt8] = [13, 10]

    /// The UTF-8 bytes of `text` with every CRLF, bare CR and bare LF turned into CRLF.
    static func normalisingLineEndings(_ text: String) -> [UInt8] {
        normalisingLineEndings(Array(text.utf8))
    }

    /// `bytes` with every CRLF, bare CR and bare LF turned into CRLF.
    static func normalisingLineEndings(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + bytes.count / 32)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 13 {
                output += crlf
                if index + 1 < bytes.count, bytes[index + 1] == 10 { index += 1 }
            } else if byte == 10 {
                output += crlf
            } else {
                output.append(byte)
            }
            index += 1
        }
        return output
    }

    /// Text with every control character (CR, LF, NUL, tab, ...) replaced by a space and runs of
    /// spaces collapsed, trimmed. Used for header values that come from free-form input.
    static func neutralised(_ text: String) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        var lastWasSpace = true
        for scalar in text.unicodeScalars {
            if EmailAddress.isControl(scalar) || scalar == " " || scalar == "\t" {
                if !lastWasSpace { result.unicodeScalars.append(" ") }
                lastWasSpace = true
            } else {
                result.unicodeScalars.append(scalar)
                lastWasSpace = false
            }
        }
        if result.hasSuffix(" ") { result.removeLast() }
        return result
    }

    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// RFC 2045 quoted-printable of CRLF-normalised `bytes`: encoded lines of at most 76 octets,
    /// hard line breaks kept as CRLF, soft breaks as `=` CRLF. Ends with CRLF only when `bytes` does.
    static func quotedPrintable(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + bytes.count / 8)
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var index = 0
        while index < bytes.count {
            if bytes[index] == 13, index + 1 < bytes.count, bytes[index + 1] == 10 {
                lines.append(bytes[start..<index])
                index += 2
                start = index
            } else {
                index += 1
            }
        }
        if start < bytes.count { lines.append(bytes[start..<bytes.count]) }

        for (lineNumber, line) in lines.enumerated() {
            if lineNumber > 0 { output += crlf }
            var lineLength = 0
            for position in line.indices {
                let byte = line[position]
                let isLast = position == line.index(before: line.endIndex)
                var encoded: [UInt8]
                if byte == 32 || byte == 9 {
                    encoded = isLast ? escape(byte) : [byte]
                } else if byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=") {
                    encoded = [byte]
                } else {
                    encoded = escape(byte)
                }
                // Keep room for the soft-break "=" so no encoded line exceeds 76 octets.
                let limit = isLast ? 76 : 75
                if lineLength + encoded.count > limit {
                    output += [UInt8(ascii: "=")] + crlf
                    lineLength = 0
                }
                output += encoded
                lineLength += encoded.count
            }
        }
        if bytes.suffix(2) == crlf { output += crlf }
        return output
    }

    private static func escape(_ byte: UInt8) -> [UInt8] {
        [UInt8(ascii: "="), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]]
    }

    /// Base64 of `bytes` in lines of 76 characters, each ending with CRLF.
    static func base64Lines(_ bytes: [UInt8]) -> [UInt8] {
        let encoded = Array(Data(bytes).base64EncodedString().utf8)
        var output: [UInt8] = []
        output.reserveCapacity(encoded.count + encoded.count / 38 + 2)
        var start = 0
        while start < encoded.count {
            let end = min(start + 76, encoded.count)
            output += encoded[start..<end]
            output += crlf
            start = end
        }
        return output
    }

    /// RFC 2047 "B" encoded-words for `text`, each at most 75 characters, never splitting a
    /// character's UTF-8 sequence (or, where it fits, a grapheme) across two words.
    static func encodedWords(_ text: String) -> [String] {
        // 39 bytes -> 52 base64 characters; with "=?UTF-8?B?" and "?=" that is 64, so a word
        // fits on a line after "Subject: " within 76 characters.
        let maximumBytes = 39
        var words: [String] = []
        var chunk: [UInt8] = []
        func flush() {
            guard !chunk.isEmpty else { return }
            words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
            chunk.removeAll(keepingCapacity: true)
        }
        for character in text {
            let characterBytes = Array(String(character).utf8)
            if characterBytes.count <= maximumBytes {
                if chunk.count + characterBytes.count > maximumBytes { flush() }
                chunk += characterBytes
            } else {
                for scalar in character.unicodeScalars {
                    let scalarBytes = Array(String(scalar).utf8)
                    if chunk.count + scalarBytes.count > maximumBytes { flush() }
                    chunk += scalarBytes
                }
            }
        }
        flush()
        return words
    }

    private static let atextSpecials: Set<UInt8> = Set("!#$%&'*+-/=?^_`{|}~".utf8)

    static func isAtext(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || atextSpecials.contains(byte)
    }

    /// Longest single token written as-is; anything longer is carried by encoded-words, which split.
    static let longestPlainToken = 900

    /// Foldable tokens for an unstructured header value (Subject, extra headers).
    static func unstructuredTokens(_ value: String) -> [String] {
        let value = neutralised(value)
        let words = value.split(separator: " ").map(String.init)
        let plain = value.utf8.allSatisfy { $0 < 0x80 } && !value.contains("=?")
            && words.allSatisfy { $0.utf8.count <= longestPlainToken }
        return plain ? words : encodedWords(value)
    }

    /// Foldable tokens for a display name (an RFC 5322 `phrase`).
    static func phraseTokens(_ name: String) -> [String] {
        let name = neutralised(name)
        guard name.utf8.allSatisfy({ $0 < 0x80 }), !name.contains("=?") else {
            return encodedWords(name)
        }
        let words = name.split(separator: " ").map(String.init)
        if words.allSatisfy({ $0.utf8.allSatisfy(isAtext) }) {
            return words
        }
        var quoted = "\""
        for character in name {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        quoted.append("\"")
        return quoted.utf8.count <= longestPlainToken ? [quoted] : encodedWords(name)
    }

    /// Foldable tokens for a mailbox: the display name's tokens then `<address>`, or the bare address.
    static func mailboxTokens(_ mailbox: EmailAddress) -> [String] {
        guard let displayName = mailbox.displayName else { return [mailbox.address] }
        let phrase = phraseTokens(displayName)
        return phrase.isEmpty ? [mailbox.address] : phrase + ["<\(mailbox.address)>"]
    }

    /// Foldable tokens for a comma-separated mailbox list.
    static func mailboxListTokens(_ mailboxes: [EmailAddress]) -> [String] {
        var tokens: [String] = []
        for (offset, mailbox) in mailboxes.enumerated() {
            var mailboxTokens = mailboxTokens(mailbox)
            if offset < mailboxes.count - 1 { mailboxTokens[mailboxTokens.count - 1] += "," }
            tokens += mailboxTokens
        }
        return tokens
    }

    /// A header field `Name: token token ...` folded with CRLF SP so lines stay within 78 octets
    /// where the tokens allow it (a token is never split; tokens are at most ~900 octets). Ends with CRLF.
    static func foldedHeader(_ name: String, _ tokens: [String]) -> [UInt8] {
        var output = Array(name.utf8) + [UInt8(ascii: ":")]
        var lineLength = output.count
        for token in tokens {
            let length = token.utf8.count
            let isFirstToken = lineLength == name.utf8.count + 1
            // Fold before a token that would overflow the line, even right after the colon when the
            // token then fits on a continuation line of its own.
            if lineLength + 1 + length > 78 && (!isFirstToken || length <= 77) {
                output += crlf
                lineLength = 0
            }
            output.append(UInt8(ascii: " "))
            output += Array(token.utf8)
            lineLength += 1 + length
        }
        output += crlf
        return output
    }

    private static let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `date` as an RFC 5322 date-time in UTC, e.g. `Tue, 05 Mar 2024 09:07:03 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        let parts = calendar.dateComponents([.weekday, .day, .month, .year, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String {
            let value = value ?? 0
            return value < 10 ? "0\(value)" : "\(value)"
        }
        let year = parts.year ?? 1970
        let paddedYear = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(dayNames[(parts.weekday ?? 1) - 1]), \(two(parts.day)) \(monthNames[(parts.month ?? 1) - 1]) \(paddedYear) "
            + "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0000"
    }
}
