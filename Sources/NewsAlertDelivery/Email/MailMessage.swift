import Foundation

/// One email to send: addresses, subject, a plain-text body and an optional HTML alternative.
///
/// ``MIMEComposer`` turns it into RFC 5322 / MIME bytes; ``SMTPRelayPool/send(_:composer:)`` delivers it.
/// The subject is a free-form headline: CR, LF and other control characters in it are replaced by
/// spaces when the message is composed, so a headline can never add a header line.
public struct MailMessage: Sendable {
    /// The author, written to the `From` header.
    public var from: EmailAddress
    /// Primary recipients, written to the `To` header.
    public var to: [EmailAddress]
    /// Carbon-copy recipients, written to the `Cc` header.
    public var cc: [EmailAddress]
    /// Blind-copy recipients: part of the SMTP envelope, never written to a header.
    public var bcc: [EmailAddress]
    /// Optional `Reply-To` mailbox.
    public var replyTo: EmailAddress?
    /// The SMTP `MAIL FROM` (bounce) address; `from` when nil.
    public var envelopeSender: EmailAddress?
    /// The subject line; any Unicode text.
    public var subject: String
    /// The text/plain body. Line endings may be LF, CR or CRLF; they are normalised to CRLF.
    public var textBody: String
    /// The text/html body. When present the message is multipart/alternative.
    public var htmlBody: String?
    /// The origination date, written as an RFC 5322 `Date` header in UTC.
    public var date: Date
    /// The `Message-ID`, including angle brackets: `<id@domain>`.
    public var messageID: String
    /// Extra headers, in order, such as `List-Unsubscribe`.
    public var headers: [MailHeader]

    /// Creates a message. A Message-ID is generated from the author's domain when none is given.
    public init(
        from: EmailAddress,
        to: [EmailAddress],
        cc: [EmailAddress] = [],
        bcc: [EmailAddress] = [],
        replyTo: EmailAddress? = nil,
        envelopeSender: EmailAddress? = nil,
        subject: String,
        textBody: String,
        htmlBody: String? = nil,
        date: Date = Date(),
        messageID: String? = nil,
        headers: [MailHeader] = []
    ) {
        self.from = from
        self.to = to
        self.cc = cc
        self.bcc = bcc
        self.replyTo = replyTo
        self.envelopeSender = envelopeSender
        self.subject = subject
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.date = date
        self.messageID = messageID ?? Self.makeMessageID(domain: String(from.domain))
        self.headers = headers
    }

    /// A fresh, globally unique Message-ID of the form `<uuid@domain>`.
    ///
    /// A domain that is not printable ASCII is replaced by `localhost`.
    public static func makeMessageID(domain: String) -> String {
        let usable = !domain.isEmpty && domain.utf8.allSatisfy { $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ">") }
        return "<\(UUID().uuidString.lowercased())@\(usable ? domain : "localhost")>"
    }

    /// The SMTP envelope recipients: `to`, `cc` and `bcc`, without duplicate addresses.
    public var envelopeRecipients: [EmailAddress] {
        var seen = Set<String>()
        return (to + cc + bcc).filter { seen.insert($0.address.lowercased()).inserted }
    }

    /// The SMTP `MAIL FROM` address: ``envelopeSender`` or ``from``.
    public var envelopeFrom: EmailAddress {
        envelopeSender ?? from
    }
}
