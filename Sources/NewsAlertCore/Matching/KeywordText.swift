import Foundation

/// An event's text cut into folded words for keyword queries, with where each word occurs.
///
/// Words are cut as `TextToken` cuts them (so "Korea's" is "korea" and "U.S." is "u.s") and folded by `fold`.
struct KeywordText: Sendable {
    /// Folded words in text order.
    let words: [String]
    /// Folded word → its positions in `words`, ascending.
    let positions: [String: [Int]]

    init(_ text: String) {
        words = TextToken.tokenize(text).map { Self.fold($0.text) }
        var positions: [String: [Int]] = [:]
        for (index, word) in words.enumerated() {
            positions[word, default: []].append(index)
        }
        self.positions = positions
    }

    /// Lowercase, without diacritics, with one apostrophe and hyphen form: how words and tags are compared.
    static func fold(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.lowercased() }
        return text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
            .replacingOccurrences(of: "’", with: "'")
            .replacingOccurrences(of: "‑", with: "-")
    }

    /// Folded words of a query word or phrase, cut the same way as event text.
    static func words(of text: String) -> [String] {
        TextToken.tokenize(text).map { fold($0.text) }
    }

    func contains(word: String) -> Bool {
        positions[word] != nil
    }

    /// True when `phrase` occurs as consecutive words.
    func contains(phrase: [String]) -> Bool {
        guard let first = phrase.first, let starts = positions[first] else { return false }
        return starts.contains { start in
            start + phrase.count <= words.count && phrase.indices.allSatisfy { words[start + $0] == phrase[$0] }
        }
    }
}
