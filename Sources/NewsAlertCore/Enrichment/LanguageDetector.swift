import Foundation

/// Tells the language of a text simply: by script for non-Latin writing, by stopwords for Latin writing.
///
/// Good enough to route English copy from an English newsroom and flag the rest; "und" when unsure.
struct LanguageDetector: Sendable {
    /// The detected BCP 47 tag and the evidence.
    struct Result: Sendable {
        let tag: String
        let because: String
    }

    private static let scripts: [(tag: String, name: String, ranges: [ClosedRange<UInt32>])] = [
        ("ar", "Arabic", [0x0600...0x06FF, 0x0750...0x077F, 0xFB50...0xFDFF, 0xFE70...0xFEFF]),
        ("he", "Hebrew", [0x0590...0x05FF]),
        ("ru", "Cyrillic", [0x0400...0x04FF]),
        ("ko", "Hangul", [0xAC00...0xD7AF, 0x1100...0x11FF]),
        ("ja", "Kana", [0x3040...0x30FF]),
        ("zh", "Han", [0x4E00...0x9FFF]),
    ]

    private static let stopwords: [(tag: String, words: Set<String>)] = [
        ("en", ["the", "a", "an", "of", "in", "on", "to", "and", "is", "are", "was", "were", "for", "with", "that", "this", "by", "from", "at", "it", "be", "has", "have", "will", "our", "we", "if", "he", "she", "they", "not", "between", "after", "before", "toward", "against"]),
        ("es", ["el", "la", "los", "las", "de", "del", "que", "y", "en", "un", "una", "por", "con", "para", "es", "se", "al"]),
        ("fr", ["le", "la", "les", "de", "des", "du", "et", "en", "un", "une", "est", "que", "pour", "dans", "sur", "au", "aux"]),
    ]

    /// Detects the language of `text`.
    func detect(_ text: String) -> Result {
        var scriptCounts: [String: Int] = [:]
        var latinLetters = 0
        for scalar in text.unicodeScalars where CharacterSet.letters.contains(scalar) {
            if let script = LanguageDetector.scripts.first(where: { $0.ranges.contains { $0.contains(scalar.value) } }) {
                scriptCounts[script.tag, default: 0] += 1
            } else {
                latinLetters += 1
            }
        }
        if let (tag, count) = scriptCounts.max(by: { $0.value < $1.value }), count > latinLetters,
           let script = LanguageDetector.scripts.first(where: { $0.tag == tag }) {
            return Result(tag: tag, because: "\(count) letters in \(script.name) script")
        }
        let words = TextToken.tokenize(text).map(\.lowered)
        let scored = LanguageDetector.stopwords.map { language in
            (language.tag, words.filter(language.words.contains))
        }
        guard let (tag, hits) = scored.max(by: { $0.1.count < $1.1.count }), !hits.isEmpty else {
            return Result(tag: "und", because: "no script or stopword evidence")
        }
        return Result(tag: tag, because: "\(hits.count) of \(words.count) words are \(tag) stopwords: \(Quoted.list(Array(hits.prefix(6))))")
    }
}
