/// A failure to deliver over SMTP, with the server's reply when there was one.
///
/// ``isTransient`` tells a caller whether to retry with backoff (4xx replies, refused, reset or
/// timed-out connections) or to record a permanent failure (5xx replies, bad input, a message
/// larger than the relay accepts). Never contains the relay password.
public struct SMTPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The TCP connection could not be established (refused, unreachable, name not resolved, connect timeout).
        public static let connectionFailed = Kind("connectionFailed")
        /// The connection was closed or reset by the peer.
        public static let connectionClosed = Kind("connectionClosed")
        /// The server did not answer within the configured timeout.
        public static let timeout = Kind("timeout")
        /// The server's bytes were not valid SMTP (or it sent data it should not have, e.g. after STARTTLS).
        public static let protocolViolation = Kind("protocolViolation")
        /// The greeting was not 220.
        public static let greetingRejected = Kind("greetingRejected")
        /// Both EHLO and HELO were refused.
        public static let heloRejected = Kind("heloRejected")
        /// TLS was required but the server does not offer STARTTLS or refused it.
        public static let tlsUnavailable = Kind("tlsUnavailable")
        /// The TLS handshake failed (certificate not trusted, wrong host name, protocol mismatch).
        public static let tlsFailed = Kind("tlsFailed")
        /// Credentials are configured but the server offers no usable mechanism, or not over TLS.
        public static let authenticationUnavailable = Kind("authenticationUnavailable")
        /// The server refused the credentials.
        public static let authenticationFailed = Kind("authenticationFailed")
        /// MAIL FROM was refused.
        public static let senderRejected = Kind("senderRejected")
        /// Every RCPT TO was refused.
        public static let recipientRejected = Kind("recipientRejected")
        /// DATA or the end of data was refused.
        public static let messageRejected = Kind("messageRejected")
        /// The message is larger than the server's announced SIZE; refused before sending.
        public static let messageTooLarge = Kind("messageTooLarge")
        /// The message needs an extension the server lacks (SMTPUTF8 for non-ASCII addresses, 8BITMIME for 8-bit content).
        public static let unsupportedExtension = Kind("unsupportedExtension")
        /// The message could not be composed (see ``MailMessageError``).
        public static let invalidMessage = Kind("invalidMessage")
        /// The pool was shut down.
        public static let poolShutDown = Kind("poolShutDown")
    }

    /// What went wrong.
    public let kind: Kind
    /// The server's reply, when the failure is one.
    public let reply: SMTPReply?
    /// The command that failed, e.g. `MAIL FROM`, `DATA`, `AUTH PLAIN` (never with its arguments).
    public let command: String?
    /// A human-readable detail: the underlying error or what the client expected.
    public let detail: String
    /// Whether retrying later may succeed: 4xx replies and connection-level failures.
    public let isTransient: Bool

    /// Creates an error. `isTransient` defaults to the classification of `reply`, or of `kind` when there is no reply.
    public init(kind: Kind, reply: SMTPReply? = nil, command: String? = nil, detail: String = "", isTransient: Bool? = nil) {
        self.kind = kind
        self.reply = reply
        self.command = command
        self.detail = detail
        if let isTransient {
            self.isTransient = isTransient
        } else if let reply, reply.code >= 400 {
            self.isTransient = reply.code < 500
        } else {
            self.isTransient = [.connectionFailed, .connectionClosed, .timeout, .protocolViolation, .poolShutDown]
                .contains(kind)
        }
    }

    /// The server's reply code, if any.
    public var replyCode: Int? { reply?.code }
    /// The server's reply text, if any.
    public var replyText: String? { reply?.text }
    /// The opposite of ``isTransient``.
    public var isPermanent: Bool { !isTransient }

    public var description: String {
        var parts = ["SMTPError.\(kind)", isTransient ? "transient" : "permanent"]
        if let command { parts.append("command: \(command)") }
        if let reply { parts.append("reply: \(reply)") }
        if !detail.isEmpty { parts.append(detail) }
        return parts.joined(separator: ", ")
    }
}
