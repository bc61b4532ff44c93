/// A parsed `keywords` query: which words and phrases an event's text must (not) contain.
///
/// Syntax (see `parse`):
/// - `ceasefire` — the word, whole, ignoring case and diacritics (`strike` does not match `strikes`).
/// - `"drone strike"` — the words next to each other, in order.
/// - `a b` or `a AND b` — both.
/// - `a OR b` — either. OR binds tighter than AND: `ceasefire OR truce gaza` means `(ceasefire OR truce) AND gaza`.
/// - `-rumour` or `NOT rumour` — must not contain it. `-"fake news"` and `-(a OR b)` work too.
/// - `( … )` — grouping.
/// Operators are case-insensitive; to look for the word "not" itself, quote it: `"not"`.
public indirect enum KeywordQuery: Sendable, Hashable, CustomStringConvertible {
    /// One folded word.
    case word(String)
    /// Two or more folded words, consecutive and in order.
    case phrase([String])
    /// The text must not match the inner query.
    case not(KeywordQuery)
    /// Every part must match.
    case all([KeywordQuery])
    /// At least one part must match.
    case any([KeywordQuery])

    /// Why a query string was rejected, and where.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public let message: String
        /// Character offset (0-based) in the query where the problem was found.
        public let offset: Int

        public init(message: String, offset: Int) {
            self.message = message
            self.offset = offset
        }

        public var description: String { "\(message) (at character \(offset + 1))" }
    }

    /// Longest query accepted, in characters.
    public static let maxCharacters = 500
    /// Most words and phrases a query may contain.
    public static let maxTerms = 32

    /// Parses the string form, e.g. `ceasefire OR "drone strike" -rumour`.
    ///
    /// Rejects unbalanced quotes and parentheses, empty phrases or groups, a NOT / `-` / OR / AND with nothing to
    /// apply to, and queries made only of exclusions (they would match nearly everything).
    public static func parse(_ text: String) throws(ParseError) -> KeywordQuery {
        var parser = try KeywordQueryParser(text)
        let query = try parser.parseQuery()
        guard query.coverWords != nil else {
            throw ParseError(message: "needs at least one word or phrase to look for that is not excluded", offset: 0)
        }
        return query
    }

    /// The canonical string form (folded words, minimal parentheses); parsing it gives back an equal query.
    public var description: String {
        switch self {
        case .word(let word):
            word == "or" || word == "and" || word == "not" ? "\"\(word)\"" : word
        case .phrase(let words):
            "\"\(words.joined(separator: " "))\""
        case .not(let inner):
            "-" + inner.groupedDescription
        case .all(let parts):
            parts.map(\.groupedDescription).joined(separator: " ")
        case .any(let parts):
            parts.map { if case .all = $0 { $0.groupedDescription } else { $0.description } }.joined(separator: " OR ")
        }
    }

    /// The description, parenthesised when it has more than one part.
    private var groupedDescription: String {
        switch self {
        case .all, .any: "(\(description))"
        default: description
        }
    }

    /// True when `text` satisfies the query; allocates nothing.
    func matches(_ text: KeywordText) -> Bool {
        switch self {
        case .word(let word): text.contains(word: word)
        case .phrase(let words): text.contains(phrase: words)
        case .not(let inner): !inner.matches(text)
        case .all(let parts): parts.allSatisfy { $0.matches(text) }
        case .any(let parts): parts.contains { $0.matches(text) }
        }
    }

    /// The positive words and phrases that matched in `text` (for explanations), or nil when the query fails.
    ///
    /// Checks with `matches` first, so a failing candidate costs no allocation.
    func matchedTerms(in text: KeywordText) -> [String]? {
        guard matches(text) else { return nil }
        var terms: [String] = []
        collectMatchedTerms(in: text, into: &terms)
        return terms
    }

    /// Appends the labels of the positive words and phrases under this (matching) node that occur in `text`.
    private func collectMatchedTerms(in text: KeywordText, into terms: inout [String]) {
        switch self {
        case .word, .phrase:
            let label = description
            if !terms.contains(label) { terms.append(label) }
        case .not:
            break
        case .all(let parts), .any(let parts):
            for part in parts where part.matches(text) { part.collectMatchedTerms(in: text, into: &terms) }
        }
    }

    /// Words of which every matching text contains at least one, or nil when no such set exists (pure exclusions).
    ///
    /// The subscription index files keyword rules under these words, so only events containing one are checked.
    /// A phrase contributes its longest word (a cheap proxy for its rarest); AND picks its smallest part.
    var coverWords: [String]? {
        switch self {
        case .word(let word):
            return [word]
        case .phrase(let words):
            return words.max { $0.count < $1.count }.map { [$0] }
        case .not:
            return nil
        case .all(let parts):
            return parts.compactMap(\.coverWords).min { $0.count < $1.count }
        case .any(let parts):
            var words: [String] = []
            for part in parts {
                guard let cover = part.coverWords else { return nil }
                Self.append(cover, to: &words)
            }
            return words
        }
    }

    /// Number of words and phrases in the query.
    var termCount: Int {
        switch self {
        case .word, .phrase: 1
        case .not(let inner): inner.termCount
        case .all(let parts), .any(let parts): parts.reduce(0) { $0 + $1.termCount }
        }
    }

    private static func append(_ new: [String], to terms: inout [String]) {
        for term in new where !terms.contains(term) { terms.append(term) }
    }
}
