import Foundation

/// Random, URL-safe ids with a prefix naming what they identify (`sbr_`, `chn_`, `sub_`).
public enum EntityID {
    public static let subscriberPrefix = "sbr_"
    public static let channelPrefix = "chn_"
    public static let subscriptionPrefix = "sub_"

    /// `prefix` followed by 20 random lowercase letters and digits (about 103 bits).
    public static func make(_ prefix: String) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return prefix + String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// Whether `text` could be an id with `prefix` (cheap check before a lookup).
    public static func isPlausible(_ text: String, prefix: String) -> Bool {
        text.hasPrefix(prefix) && (prefix.count + 1...prefix.count + 64).contains(text.count)
            && text.utf8.allSatisfy { $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || (48...57).contains($0) || (97...122).contains($0) || (65...90).contains($0) }
    }
}
