import Foundation

/// A headline split into an optional flash label, an attribution prefix and the report itself.
///
/// Wire and ticker lines open with who says it: "Al Mayadeen's correspondent in South Lebanon: …",
/// "Israeli Channel 12, citing an American source: …", or a speaker, "Naeini: …". Analysis runs on the
/// report; the prefix is kept as the source.
public struct Attribution: Sendable, Hashable {
    /// Prefix words that label an item rather than attribute it.
    static let labels: Set<String> = UrgencyClassifier.flashLabels.union(["DEVELOPING", "EXCLUSIVE", "UPDATE", "UPDATED", "WATCH", "VIDEO", "LIVE"])
    /// Longest prefix, in words, taken as an attribution; longer ones are sentences with a colon.
    static let maxPrefixWords = 12

    /// A flash or format label such as "BREAKING".
    public let label: String?
    /// The attribution prefix without its colon.
    public let source: String?
    /// The report after the prefix.
    public let report: String

    /// Splits `headline`; a prefix is at most 12 words, starts with a capital and ends in ": ".
    public init(headline: String) {
        var rest = headline.trimmingCharacters(in: .whitespacesAndNewlines)
        var label: String?
        var source: String?
        while source == nil, let (prefix, remainder) = Attribution.splitPrefix(rest) {
            if label == nil, Attribution.labels.contains(prefix.uppercased()) {
                label = prefix
            } else {
                source = prefix
            }
            rest = remainder
        }
        self.label = label
        self.source = source
        report = rest
    }

    private static func splitPrefix(_ text: String) -> (prefix: String, remainder: String)? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let afterColon = text.index(after: colon)
        guard afterColon < text.endIndex, text[afterColon].isWhitespace else { return nil }
        let prefix = text[..<colon].trimmingCharacters(in: .whitespaces)
        let remainder = text[afterColon...].trimmingCharacters(in: .whitespacesAndNewlines)
        let words = prefix.split(whereSeparator: \.isWhitespace)
        guard !remainder.isEmpty, (1...maxPrefixWords).contains(words.count),
              prefix.first?.isUppercase == true,
              !prefix.contains(where: { "\"“”!?".contains($0) }) else { return nil }
        return (prefix, remainder)
    }
}
