import Crypto
import Foundation

/// A Standard Webhooks signing secret: `whsec_` followed by the base64 of the key bytes.
///
/// The key never appears in ``description``, debug output or `dump`; use ``encoded`` deliberately
/// when the secret must be shown to its owner or stored.
public struct WebhookSecret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The prefix of every encoded secret.
    public static let prefix = "whsec_"
    /// The accepted key sizes in bytes (the Standard Webhooks recommendation).
    public static let keySizes: ClosedRange<Int> = 24...64
    /// The key size of newly generated secrets.
    public static let defaultKeySize = 32

    /// The raw HMAC key.
    public let keyBytes: [UInt8]

    /// Parses `whsec_<base64>`. Unpadded base64 is accepted, as the reference libraries do.
    public init(_ encoded: String) throws(WebhookSecretError) {
        let trimmed = encoded.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix(Self.prefix) else { throw .missingPrefix }
        var base64 = String(trimmed.dropFirst(Self.prefix.count))
        if base64.count % 4 != 0 {
            base64 += String(repeating: "=", count: 4 - base64.count % 4)
        }
        guard let data = Data(base64Encoded: base64) else { throw .invalidBase64 }
        try self.init(keyBytes: Array(data))
    }

    /// Wraps raw key bytes; their count must be within ``keySizes``.
    public init(keyBytes: [UInt8]) throws(WebhookSecretError) {
        guard Self.keySizes.contains(keyBytes.count) else { throw .invalidKeySize(keyBytes.count) }
        self.keyBytes = keyBytes
    }

    /// A new secret with `byteCount` random bytes from the system's secure generator.
    public static func generate(byteCount: Int = defaultKeySize) -> WebhookSecret {
        precondition(keySizes.contains(byteCount), "webhook secret key size must be within \(keySizes)")
        let key = SymmetricKey(size: SymmetricKeySize(bitCount: byteCount * 8))
        return try! WebhookSecret(keyBytes: key.withUnsafeBytes { Array($0) })
    }

    /// The secret as `whsec_<base64>`, to hand to the endpoint's owner. Handle with care.
    public var encoded: String {
        Self.prefix + Data(keyBytes).base64EncodedString()
    }

    /// A short, non-secret fingerprint (first 8 hex digits of SHA-256 of the key) to tell secrets apart in logs.
    public var fingerprint: String {
        SHA256.hash(data: keyBytes).prefix(4).map { String(format: "%02x", $0) }.joined()
    }

    /// `whsec_…(redacted, fingerprint XXXXXXXX)`; never the key.
    public var description: String { "whsec_…(redacted, fingerprint \(fingerprint))" }

    /// Same as ``description``.
    public var debugDescription: String { description }

    /// Shows only the fingerprint, so `dump` and debuggers do not print the key either.
    public var customMirror: Mirror { Mirror(self, children: ["fingerprint": fingerprint], displayStyle: .struct) }

    var symmetricKey: SymmetricKey { SymmetricKey(data: keyBytes) }
}
