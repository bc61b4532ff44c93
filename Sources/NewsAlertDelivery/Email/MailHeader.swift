/// An extra header field for a ``MailMessage``, such as `List-Unsubscribe`.
///
/// Construction fails when the name is not a valid RFC 5322 field name or when the value contains
/// CR, LF or any other control character, so a header can never smuggle in a second header.
/// Non-ASCII values are written as RFC 2047 encoded-words; long values are folded.
public struct MailHeader: Sendable, Hashable, CustomStringConvertible {
    /// The field name, e.g. `List-Unsubscribe`.
    public let name: String
    /// The unfolded field value.
    public let value: String

    /// Creates a header after validating the name and the value.
    ///
    /// - Throws: ``MailMessageError/invalidHeaderName(_:)`` or ``MailMessageError/invalidHeaderValue(name:)``.
    public init(name: String, value: String) throws {
        guard !name.isEmpty, name.utf8.count <= 76,
            name.utf8.allSatisfy({ $0 >= 33 && $0 <= 126 && $0 != UInt8(ascii: ":") })
        else {
            throw MailMessageError.invalidHeaderName(name)
        }
        guard !value.unicodeScalars.contains(where: { $0 != "\t" && EmailAddress.isControl($0) }) else {
            throw MailMessageError.invalidHeaderValue(name: name)
        }
        self.name = name
        self.value = value.replacingTabs().trimmingSpaces()
    }

    /// The RFC 2369 `List-Unsubscribe` header, plus the RFC 8058 `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
    /// header when `oneClick` is true (which requires at least one `https:` URI).
    ///
    /// - Parameter uris: Unsubscribe URIs without angle brackets, e.g. `https://example.org/u/abc` or `mailto:unsub@example.org`.
    public static func listUnsubscribe(_ uris: [String], oneClick: Bool = true) throws -> [MailHeader] {
        for uri in uris where uri.isEmpty || uri.contains(where: { $0 == "<" || $0 == ">" || $0 == " " || $0 == "," }) {
            throw MailMessageError.invalidHeaderValue(name: "List-Unsubscribe")
        }
        guard !uris.isEmpty else {
            throw MailMessageError.invalidHeaderValue(name: "List-Unsubscribe")
        }
        var headers = [try MailHeader(name: "List-Unsubscribe", value: uris.map { "<\($0)>" }.joined(separator: ", "))]
        if oneClick {
            guard uris.contains(where: { $0.lowercased().hasPrefix("https:") }) else {
                throw MailMessageError.invalidHeaderValue(name: "List-Unsubscribe-Post")
            }
            headers.append(try MailHeader(name: "List-Unsubscribe-Post", value: "List-Unsubscribe=One-Click"))
        }
        return headers
    }

    public var description: String { "\(name): \(value)" }
}

extension String {
    func replacingTabs() -> String {
        contains("\t") ? String(map { $0 == "\t" ? " " : $0 }) : self
    }
}
