import Foundation
import NIOSSL
import NewsAlertDelivery
import Testing

/// Splits composed bytes at CRLF, failing on any bare CR or LF.
private func crlfLines(_ bytes: [UInt8]) -> [String] {
    var lines: [String] = []
    var current: [UInt8] = []
    var index = 0
    while index < bytes.count {
        let byte = bytes[index]
        if byte == 13, index + 1 < bytes.count, bytes[index + 1] == 10 {
            lines.append(String(decoding: current, as: UTF8.self))
            current = []
            index += 2
            continue
        }
        #expect(byte != 13 && byte != 10, "bare CR or LF at offset \(index)")
        current.append(byte)
        index += 1
    }
    #expect(current.isEmpty, "the message does not end with CRLF")
    return lines
}

/// The unfolded header section as (name, value) pairs.
private func headers(_ lines: [String]) -> [(name: String, value: String)] {
    var result: [(name: String, value: String)] = []
    for line in lines {
        if line.isEmpty { break }
        if line.first == " " || line.first == "\t" {
            result[result.count - 1].value += line
        } else if let colon = line.firstIndex(of: ":") {
            result.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
    }
    return result
}

private let desk = try! EmailAddress("desk@newsalert.test", displayName: "Newsalert Desk")
private let reader = try! EmailAddress("reader@example.org")

@Suite("MIME composition")
struct MIMEComposerTests {
    @Test func composesMultipartAlternativeWithRequiredHeaders() throws {
        let date = Date(timeIntervalSince1970: 1_709_629_623)  // 2024-03-05 09:07:03 UTC
        let message = MailMessage(
            from: desk, to: [reader], subject: "Quake hits coast",
            textBody: "A strong earthquake.\n", htmlBody: "<p>A strong earthquake.</p>", date: date,
            messageID: "<alert-1@newsalert.test>",
            headers: try MailHeader.listUnsubscribe(["https://newsalert.test/u/abc"]))
        let lines = crlfLines(try MIMEComposer().compose(message))
        let fields = headers(lines)
        func value(_ name: String) -> String? { fields.first { $0.name == name }?.value }

        #expect(value("Date") == " Tue, 05 Mar 2024 09:07:03 +0000")
        #expect(value("From") == " Newsalert Desk <desk@newsalert.test>")
        #expect(value("To") == " reader@example.org")
        #expect(value("Subject") == " Quake hits coast")
        #expect(value("Message-ID") == " <alert-1@newsalert.test>")
        #expect(value("MIME-Version") == " 1.0")
        #expect(value("List-Unsubscribe") == " <https://newsalert.test/u/abc>")
        #expect(value("List-Unsubscribe-Post") == " List-Unsubscribe=One-Click")
        let contentType = try #require(value("Content-Type"))
        #expect(contentType.hasPrefix(" multipart/alternative; boundary=\"=_newsalert_"))
        #expect(lines.contains("Content-Type: text/plain; charset=utf-8"))
        #expect(lines.contains("Content-Type: text/html; charset=utf-8"))
        #expect(lines.filter { $0 == "Content-Transfer-Encoding: quoted-printable" }.count == 2)
        #expect(!fields.contains { $0.name.lowercased() == "bcc" })
    }

    @Test func subjectWithLineBreaksCannotAddHeaders() throws {
        let message = MailMessage(
            from: desk, to: [reader], subject: "Breaking\r\nBcc: x@evil.example\nX-Evil: 1\rY", textBody: "body")
        let fields = headers(crlfLines(try MIMEComposer().compose(message)))
        #expect(!fields.contains { ["bcc", "x-evil"].contains($0.name.lowercased()) })
        #expect(fields.first { $0.name == "Subject" }?.value == " Breaking Bcc: x@evil.example X-Evil: 1 Y")
    }

    @Test func headerValuesAndAddressesRejectLineBreaks() {
        #expect(throws: MailMessageError.invalidHeaderValue(name: "X-Story")) {
            try MailHeader(name: "X-Story", value: "a\r\nBcc: x@evil.example")
        }
        #expect(throws: MailMessageError.self) { try MailHeader(name: "X-Story", value: "a\nb") }
        #expect(throws: MailMessageError.self) { try MailHeader(name: "Bad Name", value: "x") }
        #expect(throws: MailMessageError.self) { try MailHeader(name: "X:Y", value: "x") }
        #expect(throws: MailMessageError.self) { try EmailAddress("a@b.example\r\nRCPT TO:<evil@x.example>") }
        #expect(throws: MailMessageError.self) { try EmailAddress("a@b.example>") }
        #expect(throws: MailMessageError.self) { try EmailAddress("a b@example.org") }
        #expect(throws: MailMessageError.self) { try EmailAddress("no-at-sign") }
        #expect(throws: MailMessageError.self) { try EmailAddress("ok@example.org", displayName: "Eve\r\nBcc: x@evil") }
    }

    @Test func extraHeadersCannotOverrideComposedOnes() throws {
        var message = MailMessage(from: desk, to: [reader], subject: "s", textBody: "b")
        message.headers = [try MailHeader(name: "bcc", value: "x@evil.example")]
        #expect(throws: MailMessageError.reservedHeader("bcc")) { try MIMEComposer().compose(message) }
        message.headers = []
        message.messageID = "<no-domain>"
        #expect(throws: MailMessageError.self) { try MIMEComposer().compose(message) }
    }

    @Test func nonASCIISubjectAndDisplayNameUseFoldedEncodedWords() throws {
        let headline = "Eilmeldung: Überschwemmung in Köln – Pegel steigt weiter, 暴雨警报 🌧️ – Straßen gesperrt, Schulen geschlossen"
        let message = MailMessage(
            from: desk, to: [try EmailAddress("zoe@example.org", displayName: "Zoë Ångström")],
            subject: headline, textBody: "x")
        let lines = crlfLines(try MIMEComposer().compose(message))
        let headerLines = lines.prefix { !$0.isEmpty }
        #expect(headerLines.allSatisfy { $0.utf8.count <= 78 })
        #expect(headerLines.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } })
        let subject = try #require(headers(lines).first { $0.name == "Subject" }?.value)
        let words = subject.split(separator: " ")
        #expect(words.count > 1)
        #expect(words.allSatisfy { $0.hasPrefix("=?UTF-8?B?") && $0.hasSuffix("?=") && $0.count <= 75 })
        let decoded = words.map { word -> String in
            let payload = word.dropFirst("=?UTF-8?B?".count).dropLast(2)
            return String(decoding: Data(base64Encoded: String(payload))!, as: UTF8.self)
        }.joined()
        #expect(decoded == headline)
    }

    @Test func longASCIIHeadersFoldAtSpaces() throws {
        let subject = (1...40).map { "word\($0)" }.joined(separator: " ")
        let message = MailMessage(from: desk, to: [reader], subject: subject, textBody: "x")
        let lines = crlfLines(try MIMEComposer().compose(message))
        let start = try #require(lines.firstIndex { $0.hasPrefix("Subject:") })
        #expect(lines[start + 1].hasPrefix(" "))
        #expect(lines.prefix { !$0.isEmpty }.allSatisfy { $0.utf8.count <= 78 })
        #expect(headers(lines).first { $0.name == "Subject" }?.value == " " + subject)
    }

    @Test(arguments: [MIMEComposer.BodyEncoding.quotedPrintable, .base64])
    func bodyLinesStayShortAndUseCRLF(encoding: MIMEComposer.BodyEncoding) throws {
        let longLine = String(repeating: "Ünïcödé text with = signs and trailing spaces   ", count: 60)
        let message = MailMessage(
            from: desk, to: [reader], subject: "s", textBody: longLine + "\n.\nlast\r\n", htmlBody: "<p>\(longLine)</p>")
        let lines = crlfLines(try MIMEComposer(bodyEncoding: encoding).compose(message))
        #expect(lines.allSatisfy { $0.utf8.count <= 998 })
        let bodyLines = lines.drop { !$0.isEmpty }
        #expect(bodyLines.allSatisfy { $0.utf8.count <= 76 })
        #expect(bodyLines.allSatisfy { !$0.hasSuffix(" ") && !$0.hasSuffix("\t") })
        #expect(lines.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } })
    }

    @Test func configurationNeverShowsThePassword() {
        let configuration = SMTPRelayConfiguration(
            host: "relay.example.org", username: "newsalert", password: "hunter2-secret")
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in ["\(configuration)", String(reflecting: configuration), dumped] {
            #expect(!text.contains("hunter2-secret"))
            #expect(text.contains("newsalert"))
        }
    }

    @Test func errorsClassifyTransientAndPermanent() {
        #expect(SMTPError(kind: .messageRejected, reply: SMTPReply(code: 451, lines: ["later"])).isTransient)
        #expect(SMTPError(kind: .messageRejected, reply: SMTPReply(code: 550, lines: ["no"])).isPermanent)
        #expect(SMTPError(kind: .connectionFailed).isTransient)
        #expect(SMTPError(kind: .timeout).isTransient)
        #expect(SMTPError(kind: .messageTooLarge).isPermanent)
    }
}
