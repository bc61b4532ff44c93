import Foundation

/// One word of news copy, as `TextToken.tokenize` cuts it.
///
/// Words keep internal apostrophes, hyphens and dots ("Sana'a", "Jae-myung", "U.S"), numbers keep
/// their separators ("4,500"), and a trailing possessive is dropped ("Korea's" becomes "Korea").
public struct TextToken: Sendable, Hashable {
    /// The word without a trailing possessive `'s`.
    public let text: String
    /// `text` lowercased, for case-insensitive lookups.
    public let lowered: String
    /// Where the whole word (possessive included) sits in the source string.
    public let range: Range<String.Index>
    /// Where `text` sits in the source string (the word without its possessive).
    public let textRange: Range<String.Index>
    /// True when the word ended in a possessive `'s` / `’s`.
    public let isPossessive: Bool
    /// True when punctuation (not just spaces) separates this word from the previous one.
    public let followsPunctuation: Bool

    /// True when the word starts with an uppercase letter, or is an `al-`/`el-` name like "al-Qassam".
    public var isCapitalized: Bool {
        guard let first = text.unicodeScalars.first else { return false }
        if CharacterSet.uppercaseLetters.contains(first) { return true }
        for prefix in ["al-", "el-"] where lowered.hasPrefix(prefix) {
            let rest = text.dropFirst(prefix.count).unicodeScalars.first
            return rest.map { CharacterSet.uppercaseLetters.contains($0) } ?? false
        }
        return false
    }

    /// True when the word is a number such as "67", "4,500" or "44.39".
    public var isNumeric: Bool {
        text.unicodeScalars.first.map { CharacterSet.decimalDigits.contains($0) } ?? false
    }

    /// Cuts `string` into words.
    public static func tokenize(_ string: String) -> [TextToken] {
        var tokens: [TextToken] = []
        var index = string.startIndex
        var sawPunctuation = false
        while index < string.endIndex {
            let character = string[index]
            guard isWordCharacter(character) else {
                if !character.isWhitespace { sawPunctuation = true }
                index = string.index(after: index)
                continue
            }
            let start = index
            var end = string.index(after: index)
            while end < string.endIndex {
                let next = string[end]
                if isWordCharacter(next) {
                    end = string.index(after: end)
                } else if isJoiner(next), joins(string, at: end, start: start) {
                    end = string.index(after: end)
                } else {
                    break
                }
            }
            tokens.append(makeToken(string[start..<end], range: start..<end, followsPunctuation: sawPunctuation && !tokens.isEmpty))
            sawPunctuation = false
            index = end
        }
        return tokens
    }

    private static func makeToken(_ word: Substring, range: Range<String.Index>, followsPunctuation: Bool) -> TextToken {
        var text = word
        var possessive = false
        for suffix in ["'s", "’s", "'S", "’S"] where text.count > suffix.count + 1 && text.hasSuffix(suffix) {
            text = text.dropLast(suffix.count)
            possessive = true
            break
        }
        return TextToken(
            text: String(text), lowered: text.lowercased(), range: range, textRange: text.startIndex..<text.endIndex,
            isPossessive: possessive, followsPunctuation: followsPunctuation
        )
    }

    private static func isWordCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber
    }

    private static func isJoiner(_ character: Character) -> Bool {
        ["'", "’", "-", "‑", ".", ","].contains(character)
    }

    /// A joiner stays inside a word when a word character follows it; a comma only between digits.
    private static func joins(_ string: String, at position: String.Index, start: String.Index) -> Bool {
        let after = string.index(after: position)
        guard after < string.endIndex, isWordCharacter(string[after]) else { return false }
        let joiner = string[position]
        if joiner == "," {
            return string[string.index(before: position)].isNumber && string[after].isNumber
        }
        if joiner == "." {
            let before = string[string.index(before: position)]
            // "U.S", "44.39": dots inside abbreviations and decimals, not between sentences.
            return (before.isNumber && string[after].isNumber) || (before.isUppercase && string[after].isUppercase && isSingleLetterRun(string, before: position, start: start))
        }
        return true
    }

    /// True when the letters before `position` in this word form a one-letter piece ("U" in "U.S").
    private static func isSingleLetterRun(_ string: String, before position: String.Index, start: String.Index) -> Bool {
        let previous = string.index(before: position)
        return previous == start || string[string.index(before: previous)] == "."
    }
}
