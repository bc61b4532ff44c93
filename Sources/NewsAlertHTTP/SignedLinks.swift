import Crypto
import Foundation

/// Expiring links signed with the installation's link key: the email confirmation link, the reader's preference link.
///
/// The signature is an HMAC over the link's purpose, its subject (a channel or subscriber id with what it must still
/// match, such as the address) and its expiry, so a link cannot be reused for another purpose, subject or time.
public struct SignedLinks: Sendable {
    /// What a link is for; part of the signed text.
    public enum Purpose: String, Sendable {
        case confirmEmail = "confirm-email"
        case preferences
    }

    /// Why a link was refused (every reason answers the same to the visitor).
    public enum Problem: Error, Sendable, Equatable {
        case malformed, badSignature, expired
    }

    let key: Data
    public let baseURL: String

    public init(key: Data, baseURL: String) {
        self.key = key
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    /// The signature of `subject` for `purpose` until `expires` (URL-safe base64, no padding).
    public func signature(_ purpose: Purpose, subject: String, expires: Date) -> String {
        let text = "newsalert-link\n\(purpose.rawValue)\n\(subject)\n\(Self.seconds(expires))"
        return Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: key))).base64URLEncodedString()
    }

    /// Checks a link's signature and expiry; the subject is what the caller looked up (channel id and address, …).
    public func verify(_ purpose: Purpose, subject: String, expiresText: String, signature given: String, now: Date = Date()) -> Result<Date, Problem> {
        guard given.count <= 100, expiresText.count <= 12, let seconds = Int64(expiresText), seconds > 0 else { return .failure(.malformed) }
        let expires = Date(timeIntervalSince1970: TimeInterval(seconds))
        let expected = Array(signature(purpose, subject: subject, expires: expires).utf8)
        let actual = Array(given.utf8)
        guard expected.count == actual.count, zip(expected, actual).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { return .failure(.badSignature) }
        guard now < expires else { return .failure(.expired) }
        return .success(expires)
    }

    /// `…/v1/confirm?channel=…&expires=…&token=…`: the link of a confirmation mail.
    public func confirmationURL(channelID: String, address: String, expires: Date) -> String {
        "\(baseURL)/v1/confirm?channel=\(channelID)&expires=\(Self.seconds(expires))&token=\(signature(.confirmEmail, subject: Self.confirmationSubject(channelID, address), expires: expires))"
    }

    /// `…/preferences?subscriber=…&expires=…&token=…`: the preference centre of a subscriber (linked from alert emails).
    public func preferencesURL(subscriberID: String, expires: Date) -> String {
        "\(baseURL)/preferences?subscriber=\(subscriberID)&expires=\(Self.seconds(expires))&token=\(signature(.preferences, subject: subscriberID, expires: expires))"
    }

    static func confirmationSubject(_ channelID: String, _ address: String) -> String {
        "\(channelID)\n\(address)"
    }

    static func seconds(_ date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970.rounded(.down))
    }
}

extension Data {
    func base64URLEncodedString() -> String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
