import Crypto
import Foundation

/// Checks the `Grip-Sig` header a GRIP proxy (Pushpin, Fastly Fanout) adds to the requests it forwards: a JWT signed
/// with HMAC-SHA256 under the key shared with the proxy (Pushpin's `sig_key`), with an `exp` claim. Only a request
/// with a valid signature gets GRIP hold instructions; anyone can send the header.
public struct GripSignature: Sendable {
    public enum Problem: Error, Equatable {
        case malformed
        case badSignature
        case expired
    }

    private let secret: Data

    public init(key: String) {
        secret = Data(key.utf8)
    }

    private var key: SymmetricKey { SymmetricKey(data: secret) }

    /// Verifies `token` at `now`; throws which check failed.
    public func verify(_ token: String, now: Date = Date()) throws(Problem) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 4_096, parts.count == 3,
              let headerData = Self.base64URLDecoded(parts[0]), let claimsData = Self.base64URLDecoded(parts[1]),
              let signature = Self.base64URLDecoded(parts[2]),
              let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any],
              let claims = try? JSONSerialization.jsonObject(with: claimsData) as? [String: Any]
        else { throw .malformed }
        guard header["alg"] as? String == "HS256" else { throw .malformed }
        let signed = Data("\(parts[0]).\(parts[1])".utf8)
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signed, using: key) else { throw .badSignature }
        guard let expiry = (claims["exp"] as? NSNumber)?.doubleValue else { throw .malformed }
        guard expiry > now.timeIntervalSince1970 else { throw .expired }
    }

    /// A signature as a proxy makes one (tests and tools).
    public func sign(issuer: String = "pushpin", expires: Date) -> String {
        let header = Self.base64URL(Data(#"{"typ":"JWT","alg":"HS256"}"#.utf8))
        let claims = Self.base64URL(Data(#"{"iss":"\#(issuer)","exp":\#(Int(expires.timeIntervalSince1970))}"#.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(header).\(claims)".utf8), using: key)
        return "\(header).\(claims).\(Self.base64URL(Data(mac)))"
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64URLDecoded(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
