import Crypto
import Foundation

/// Signed one-click unsubscribe links for email channels (RFC 8058): `…/v1/unsubscribe?channel=chn_…&token=…`.
///
/// The token is an HMAC of the channel id, so a link works without a database lookup of a stored token and cannot
/// be forged for another channel. Every process that sends email or serves the API must share the key.
public struct UnsubscribeLinks: Sendable {
    let key: Data
    let baseURL: String

    public init(key: Data, baseURL: String) {
        self.key = key
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    public func token(for channelID: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(channelID.utf8), using: SymmetricKey(data: key))
        return Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public func url(for channelID: String) -> String {
        "\(baseURL)/v1/unsubscribe?channel=\(channelID)&token=\(token(for: channelID))"
    }

    public func isValid(token: String, for channelID: String) -> Bool {
        let expected = Array(self.token(for: channelID).utf8)
        let given = Array(token.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
