/// A mailbox: an `addr-spec` such as `desk@example.org`, with an optional display name.
///
/// The initialiser rejects anything that could break out of an SMTP command or a header line:
/// CR, LF and every other control character, spaces, angle brackets, quotes, commas and the like.
/// Non-ASCII local parts and domains are accepted; sending to them needs a relay that offers SMTPUTF8.
public struct EmailAddress: Sendable, Hashable, CustomStringConvertible {
    /// The bare address, `local@domain`.
    public let address: String
    /// The human-readable name shown by mail readers, if any. Encoded as RFC 2047 words when not ASCII.
    public let displayName: String?

    /// Creates a mailbox after validating the address and the display name.
    ///
    /// - Throws: ``MailMessageError/invalidAddress(_:)`` or ``MailMessageError/invalidDisplayName(_:)``.
    public init(_ address: String, displayName: String? = nil) throws {
        guard Self.isValidAddress(address) else {
            throw MailMessageError.invalidAddress(address)
        }
        if let displayName {
            guard !displayName.unicodeScalars.contains(where: Self.isControl) else {
                throw MailMessageError.invalidDisplayName(displayName)
            }
        }
        self.address = address
        let trimmed = displayName?.trimmingSpaces()
        self.displayName = (trimmed?.isEmpty ?? true) ? nil : trimmed
    }

    /// Whether the address is pure ASCII (otherwise the SMTP transaction needs SMTPUTF8).
    public var isASCII: Bool {
        address.utf8.allSatisfy { $0 < 0x80 }
    }

    /// The domain part, after the `@`.
    public var domain: Substring {
        address[address.index(after: address.lastIndex(of: "@")!)...]
    }

    public var description: String {
        if let displayName {
            return "\(displayName) <\(address)>"
        }
        return address
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
            || scalar == "\u{2028}" || scalar == "\u{2029}"
    }

    private static let forbiddenInAddress: Set<Unicode.Scalar> = [
        " ", "<", ">", "(", ")", "[", "]", ",", ";", ":", "\\", "\"",
    ]

    static func isValidAddress(_ address: String) -> Bool {
        guard address.utf8.count <= 320,
            let at = address.lastIndex(of: "@"),
            address.firstIndex(of: "@") == at
        else { return false }
        let local = address[..<at]
        let domain = address[address.index(after: at)...]
        guard !local.isEmpty, local.utf8.count <= 64, !domain.isEmpty, domain.utf8.count <= 255 else {
            return false
        }
        guard !domain.hasPrefix("."), !domain.hasSuffix("."), !domain.contains("..") else {
            return false
        }
        for scalar in address.unicodeScalars {
            if isControl(scalar) || forbiddenInAddress.contains(scalar) || scalar.properties.isWhitespace {
                return false
            }
        }
        return true
    }
}

extension String {
    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
