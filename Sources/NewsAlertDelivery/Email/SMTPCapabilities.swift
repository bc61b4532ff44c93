/// The ESMTP extensions a server announced in its EHLO reply.
public struct SMTPCapabilities: Sendable, Hashable {
    /// Every announced keyword (upper-cased) with its parameters.
    public let extensions: [String: [String]]

    /// No extensions: what a server that only answers HELO offers.
    public init() {
        self.extensions = [:]
    }

    /// Parses the lines of a 250 reply to EHLO; the first line (the greeting) is skipped.
    public init(ehloReply: SMTPReply) {
        var extensions: [String: [String]] = [:]
        for line in ehloReply.lines.dropFirst() {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "=" }).map(String.init)
            guard let keyword = words.first?.uppercased(), !keyword.isEmpty else { continue }
            let parameters = Array(words.dropFirst())
            if keyword == "AUTH", let existing = extensions[keyword] {
                extensions[keyword] = existing + parameters
            } else {
                extensions[keyword] = parameters
            }
        }
        self.extensions = extensions
    }

    /// Whether `keyword` (case-insensitive) was announced.
    public func supports(_ keyword: String) -> Bool {
        extensions[keyword.uppercased()] != nil
    }

    /// STARTTLS (RFC 3207).
    public var startTLS: Bool { supports("STARTTLS") }
    /// PIPELINING (RFC 2920).
    public var pipelining: Bool { supports("PIPELINING") }
    /// 8BITMIME (RFC 6152).
    public var eightBitMIME: Bool { supports("8BITMIME") }
    /// SMTPUTF8 (RFC 6531).
    public var smtpUTF8: Bool { supports("SMTPUTF8") }
    /// The SIZE limit in octets (RFC 1870); nil when SIZE is absent or announced without a limit (or 0).
    public var maximumMessageSize: Int? {
        guard let value = extensions["SIZE"]?.first, let size = Int(value), size > 0 else { return nil }
        return size
    }
    /// The announced SASL mechanisms, upper-cased.
    public var authenticationMechanisms: Set<String> {
        Set((extensions["AUTH"] ?? []).map { $0.uppercased() })
    }
}
