/// Why a ``MailMessage`` (or one of its parts) cannot be turned into a safe RFC 5322 message.
///
/// These errors are raised before anything is sent: they describe bad input, never a relay problem,
/// so they are always permanent.
public enum MailMessageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The string is not a plain `local@domain` mailbox (empty part, control character, space, `<`, `>`, and so on).
    case invalidAddress(String)
    /// A display name contains a control character such as CR or LF.
    case invalidDisplayName(String)
    /// A header name is empty, too long, or contains a character outside printable ASCII or a colon.
    case invalidHeaderName(String)
    /// A header value contains CR, LF, NUL or another control character. Carries the header's name.
    case invalidHeaderValue(name: String)
    /// An extra header tried to set a header the composer writes itself (`From`, `Subject`, `Content-Type`, ...).
    case reservedHeader(String)
    /// The Message-ID is not of the form `<left@right>` in printable ASCII.
    case invalidMessageID(String)
    /// The message has no recipient at all.
    case noRecipients

    public var description: String {
        switch self {
        case .invalidAddress(let address):
            return "invalid email address \(address.debugDescription)"
        case .invalidDisplayName(let name):
            return "invalid display name \(name.debugDescription)"
        case .invalidHeaderName(let name):
            return "invalid header name \(name.debugDescription)"
        case .invalidHeaderValue(let name):
            return "invalid value for header \(name.debugDescription): control characters are not allowed"
        case .reservedHeader(let name):
            return "header \(name.debugDescription) is written by the composer and cannot be set as an extra header"
        case .invalidMessageID(let id):
            return "invalid Message-ID \(id.debugDescription)"
        case .noRecipients:
            return "the message has no recipient"
        }
    }
}
