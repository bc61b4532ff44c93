import Foundation

/// What a relay said when it accepted a message.
public struct SMTPDeliveryReceipt: Sendable, Hashable {
    /// A recipient the relay refused while accepting the message for others.
    public struct Rejection: Sendable, Hashable {
        /// The refused address.
        public let address: String
        /// The relay's reply to its RCPT TO.
        public let reply: SMTPReply
    }

    /// The reply to the end of data, e.g. `250 2.0.0 Ok: queued as 4Xk9`.
    public let reply: SMTPReply
    /// Recipients the relay accepted.
    public let acceptedRecipients: [String]
    /// Recipients the relay refused; empty when all were accepted.
    public let rejectedRecipients: [Rejection]
    /// The size of the message in octets, as announced with SIZE.
    public let messageSize: Int

    /// The queue identifier when the reply has the common `queued as ID` form.
    public var queueID: String? {
        let text = reply.text
        guard let range = text.range(of: "queued as ", options: .caseInsensitive) else { return nil }
        let id = text[range.upperBound...].prefix { !$0.isWhitespace && $0 != ")" && $0 != ";" }
        return id.isEmpty ? nil : String(id)
    }
}
