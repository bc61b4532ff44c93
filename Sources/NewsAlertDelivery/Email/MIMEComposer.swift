import Foundation

/// Renders a ``MailMessage`` as RFC 5322 / MIME bytes ready for SMTP `DATA`.
///
/// - Headers: `Date` (UTC), `From`, `Reply-To`, `To`, `Cc`, `Subject`, `Message-ID`, `MIME-Version`,
///   the message's extra headers, then the content headers. Non-ASCII subjects and display names
///   become RFC 2047 encoded-words; long headers are folded. `Bcc` is never written.
/// - Body: text/plain alone, or multipart/alternative with text/plain then text/html, both UTF-8,
///   quoted-printable or base64, so no body line exceeds 76 octets.
/// - Every line ends with CRLF. CR/LF in the subject are replaced by spaces; CR/LF cannot enter the
///   other headers because ``EmailAddress`` and ``MailHeader`` refuse them.
public struct MIMEComposer: Sendable {
    /// The content transfer encoding of the text parts.
    public enum BodyEncoding: String, Sendable, Hashable {
        /// Readable for mostly-ASCII text; the default.
        case quotedPrintable = "quoted-printable"
        /// Compact for non-Latin scripts.
        case base64
    }

    /// The content transfer encoding of the text parts.
    public var bodyEncoding: BodyEncoding

    /// Creates a composer.
    public init(bodyEncoding: BodyEncoding = .quotedPrintable) {
        self.bodyEncoding = bodyEncoding
    }

    /// Header names the composer writes itself; extra headers may not use them.
    public static let reservedHeaderNames: Set<String> = [
        "date", "from", "sender", "reply-to", "to", "cc", "bcc", "subject", "message-id",
        "mime-version", "content-type", "content-transfer-encoding",
    ]

    /// The message as bytes, every line ending in CRLF.
    ///
    /// - Throws: ``MailMessageError`` when the message has no recipient, an invalid Message-ID, or an
    ///   extra header that collides with one the composer writes.
    public func compose(_ message: MailMessage) throws -> [UInt8] {
        guard !message.envelopeRecipients.isEmpty else { throw MailMessageError.noRecipients }
        guard Self.isValidMessageID(message.messageID) else {
            throw MailMessageError.invalidMessageID(message.messageID)
        }
        for header in message.headers where Self.reservedHeaderNames.contains(header.name.lowercased()) {
            throw MailMessageError.reservedHeader(header.name)
        }

        var output: [UInt8] = []
        output += MIMEEncoding.foldedHeader("Date", [MIMEEncoding.rfc5322Date(message.date)])
        output += MIMEEncoding.foldedHeader("From", MIMEEncoding.mailboxTokens(message.from))
        if let replyTo = message.replyTo {
            output += MIMEEncoding.foldedHeader("Reply-To", MIMEEncoding.mailboxTokens(replyTo))
        }
        if !message.to.isEmpty {
            output += MIMEEncoding.foldedHeader("To", MIMEEncoding.mailboxListTokens(message.to))
        } else if message.cc.isEmpty {
            output += MIMEEncoding.foldedHeader("To", ["undisclosed-recipients:;"])
        }
        if !message.cc.isEmpty {
            output += MIMEEncoding.foldedHeader("Cc", MIMEEncoding.mailboxListTokens(message.cc))
        }
        output += MIMEEncoding.foldedHeader("Subject", MIMEEncoding.unstructuredTokens(message.subject))
        output += MIMEEncoding.foldedHeader("Message-ID", [message.messageID])
        output += MIMEEncoding.foldedHeader("MIME-Version", ["1.0"])
        for header in message.headers {
            // MailHeader already refused control characters; neutralising again is defence in depth.
            output += MIMEEncoding.foldedHeader(header.name, MIMEEncoding.unstructuredTokens(header.value))
        }

        if let html = message.htmlBody {
            let boundary = Self.makeBoundary()
            output += MIMEEncoding.foldedHeader(
                "Content-Type", ["multipart/alternative;", "boundary=\"\(boundary)\""])
            output += MIMEEncoding.crlf
            output += Array("This is a multi-part message in MIME format.".utf8) + MIMEEncoding.crlf
            for (subtype, body) in [("plain", message.textBody), ("html", html)] {
                output += MIMEEncoding.crlf + Array("--\(boundary)".utf8) + MIMEEncoding.crlf
                output += part(subtype: subtype, body: body)
            }
            output += MIMEEncoding.crlf + Array("--\(boundary)--".utf8) + MIMEEncoding.crlf
        } else {
            output += part(subtype: "plain", body: message.textBody)
            if output.suffix(2) != MIMEEncoding.crlf { output += MIMEEncoding.crlf }
        }
        return output
    }

    private func part(subtype: String, body: String) -> [UInt8] {
        var output = MIMEEncoding.foldedHeader("Content-Type", ["text/\(subtype);", "charset=utf-8"])
        output += MIMEEncoding.foldedHeader("Content-Transfer-Encoding", [bodyEncoding.rawValue])
        output += MIMEEncoding.crlf
        let bytes = MIMEEncoding.normalisingLineEndings(body)
        switch bodyEncoding {
        case .quotedPrintable:
            // Ends with CRLF exactly when the text does; the CRLF before a boundary belongs to the
            // boundary, so the text's own final line break survives the round trip.
            output += MIMEEncoding.quotedPrintable(bytes)
        case .base64:
            var encoded = MIMEEncoding.base64Lines(bytes)
            if encoded.suffix(2) == MIMEEncoding.crlf { encoded.removeLast(2) }
            output += encoded
        }
        return output
    }

    /// A boundary that cannot occur in quoted-printable ("=" is always followed by hex digits or
    /// CRLF there) or base64 output.
    static func makeBoundary() -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<2).map { _ in String(generator.next() as UInt64, radix: 16) }.joined()
        return "=_newsalert_" + random
    }

    static func isValidMessageID(_ id: String) -> Bool {
        guard id.hasPrefix("<"), id.hasSuffix(">"), id.utf8.count >= 5, id.utf8.count <= 250 else { return false }
        let inner = id.utf8.dropFirst().dropLast()
        guard inner.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") })
        else { return false }
        let ats = inner.filter { $0 == UInt8(ascii: "@") }.count
        return ats == 1 && inner.first != UInt8(ascii: "@") && inner.last != UInt8(ascii: "@")
    }
}

extension MIMEComposer {
    /// ``compose(_:)`` for a send: a message that cannot be composed is a permanent ``SMTPError/Kind/invalidMessage``.
    func composeForSending(_ message: MailMessage) throws -> [UInt8] {
        do {
            return try compose(message)
        } catch {
            throw SMTPError(kind: .invalidMessage, detail: String(describing: error), isTransient: false)
        }
    }
}
