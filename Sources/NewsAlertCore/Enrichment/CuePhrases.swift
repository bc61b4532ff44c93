import Foundation

/// A list of cue phrases found in text by whole words; a word ending in `*` matches any word it starts ("resign*").
struct CuePhrases: Sendable {
    private let phrases: [[String]]

    /// - Parameter phrases: space-separated lowercase phrases, e.g. "drone strike", "martyr*".
    init(_ phrases: [String]) {
        self.phrases = phrases.map { $0.split(separator: " ").map(String.init) }
    }

    /// The phrases present in `words` (lowercased), as written in the text, in order of appearance.
    func hits(in words: [String]) -> [String] {
        var found: [String] = []
        var position = 0
        while position < words.count {
            let match = phrases
                .filter { matches($0, words, at: position) }
                .max(by: { $0.count < $1.count })
            if let match {
                found.append(words[position..<(position + match.count)].joined(separator: " "))
                position += match.count
            } else {
                position += 1
            }
        }
        return found
    }

    private func matches(_ phrase: [String], _ words: [String], at position: Int) -> Bool {
        guard position + phrase.count <= words.count else { return false }
        return zip(phrase, words[position...]).allSatisfy { pattern, word in
            pattern.hasSuffix("*") ? word.hasPrefix(pattern.dropLast()) : word == pattern
        }
    }
}
