/// Recursive-descent parser for the `keywords` string form; see `KeywordQuery` for the syntax.
///
/// Grammar (OR binds tighter than AND, as in web search):
/// ```
/// query       := disjunction ( ["AND"] disjunction )*
/// disjunction := unary ( "OR" unary )*
/// unary       := ("NOT" | "-") unary | primary
/// primary     := WORD | '"' words '"' | "(" query ")"
/// ```
struct KeywordQueryParser {
    typealias ParseError = KeywordQuery.ParseError

    private enum Token: Equatable {
        case word(String), phrase(String), open, close, or, and, not, minus
    }

    private struct Lexeme {
        let token: Token
        let offset: Int
    }

    static let maxDepth = 8
    private static let openingQuotes: Set<Character> = ["\"", "“"]
    private static let closingQuotes: Set<Character> = ["\"", "”"]

    private let lexemes: [Lexeme]
    private let length: Int
    private var position = 0
    private var depth = 0

    init(_ text: String) throws(ParseError) {
        let characters = Array(text)
        guard characters.count <= KeywordQuery.maxCharacters else {
            throw ParseError(message: "is longer than \(KeywordQuery.maxCharacters) characters", offset: KeywordQuery.maxCharacters)
        }
        length = characters.count
        lexemes = try Self.lex(characters)
    }

    mutating func parseQuery() throws(ParseError) -> KeywordQuery {
        let query = try parseSequence()
        if let extra = peek {
            throw ParseError(message: "unmatched ')'", offset: extra.offset)
        }
        guard query.termCount <= KeywordQuery.maxTerms else {
            throw ParseError(message: "has more than \(KeywordQuery.maxTerms) words and phrases", offset: 0)
        }
        return query
    }

    private var peek: Lexeme? {
        position < lexemes.count ? lexemes[position] : nil
    }

    private mutating func advance() {
        position += 1
    }

    /// Disjunctions up to the end or a closing parenthesis, all required.
    private mutating func parseSequence() throws(ParseError) -> KeywordQuery {
        var parts: [KeywordQuery] = []
        while let lexeme = peek, lexeme.token != .close {
            if lexeme.token == .and {
                guard !parts.isEmpty else { throw ParseError(message: "AND needs a term before it", offset: lexeme.offset) }
                advance()
                try requireTerm(after: "AND", at: lexeme.offset)
                continue
            }
            parts.append(try parseDisjunction())
        }
        guard !parts.isEmpty else {
            if let lexeme = peek { throw ParseError(message: "unmatched ')'", offset: lexeme.offset) }
            throw ParseError(message: "is empty", offset: 0)
        }
        return Self.combine(parts, intoAll: true)
    }

    private mutating func parseDisjunction() throws(ParseError) -> KeywordQuery {
        var parts = [try parseUnary()]
        while let lexeme = peek, lexeme.token == .or {
            advance()
            try requireTerm(after: "OR", at: lexeme.offset)
            parts.append(try parseUnary())
        }
        return Self.combine(parts, intoAll: false)
    }

    private mutating func parseUnary() throws(ParseError) -> KeywordQuery {
        guard let lexeme = peek else { throw ParseError(message: "expected a word, phrase or group", offset: length) }
        switch lexeme.token {
        case .not, .minus:
            advance()
            try requireTerm(after: lexeme.token == .not ? "NOT" : "'-'", at: lexeme.offset)
            return .not(try parseUnary())
        default:
            return try parsePrimary(lexeme)
        }
    }

    private mutating func parsePrimary(_ lexeme: Lexeme) throws(ParseError) -> KeywordQuery {
        switch lexeme.token {
        case .word(let text):
            advance()
            return try Self.term(text, isPhrase: false, at: lexeme.offset)
        case .phrase(let text):
            advance()
            return try Self.term(text, isPhrase: true, at: lexeme.offset)
        case .open:
            advance()
            depth += 1
            guard depth <= Self.maxDepth else { throw ParseError(message: "nests parentheses more than \(Self.maxDepth) deep", offset: lexeme.offset) }
            if peek?.token == .close { throw ParseError(message: "has empty parentheses", offset: lexeme.offset) }
            let inner = try parseSequence()
            guard peek?.token == .close else { throw ParseError(message: "has a '(' that is never closed", offset: lexeme.offset) }
            advance()
            depth -= 1
            return inner
        case .close:
            throw ParseError(message: "unmatched ')'", offset: lexeme.offset)
        case .or, .and:
            throw ParseError(message: "\(lexeme.token == .or ? "OR" : "AND") needs a term before it", offset: lexeme.offset)
        case .not, .minus:
            return try parseUnary()
        }
    }

    /// Throws unless the next lexeme can start a term (so `a OR`, `NOT )` and a lone `not` are rejected).
    private func requireTerm(after operatorName: String, at offset: Int) throws(ParseError) {
        switch peek?.token {
        case .word, .phrase, .open, .not, .minus: return
        default: throw ParseError(message: "\(operatorName) needs a word, phrase or group after it", offset: offset)
        }
    }

    private static func term(_ text: String, isPhrase: Bool, at offset: Int) throws(ParseError) -> KeywordQuery {
        let words = KeywordText.words(of: text)
        guard let first = words.first else {
            throw ParseError(message: isPhrase ? "has an empty phrase" : "has '\(text)', which has no letters or digits", offset: offset)
        }
        return words.count == 1 ? .word(first) : .phrase(words)
    }

    /// One part stays itself; nested parts of the same kind are flattened, so `(a b) c` is `a b c`.
    private static func combine(_ parts: [KeywordQuery], intoAll: Bool) -> KeywordQuery {
        var flat: [KeywordQuery] = []
        for part in parts {
            switch (intoAll, part) {
            case (true, .all(let inner)), (false, .any(let inner)): flat.append(contentsOf: inner)
            default: flat.append(part)
            }
        }
        if flat.count == 1, let only = flat.first { return only }
        return intoAll ? .all(flat) : .any(flat)
    }

    private static func lex(_ characters: [Character]) throws(ParseError) -> [Lexeme] {
        var lexemes: [Lexeme] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character.isWhitespace {
                index += 1
            } else if character == "(" || character == ")" {
                lexemes.append(Lexeme(token: character == "(" ? .open : .close, offset: index))
                index += 1
            } else if openingQuotes.contains(character) || closingQuotes.contains(character) {
                guard let close = characters[(index + 1)...].firstIndex(where: closingQuotes.contains) else {
                    throw ParseError(message: "has an unbalanced quote", offset: index)
                }
                lexemes.append(Lexeme(token: .phrase(String(characters[(index + 1)..<close])), offset: index))
                index = close + 1
            } else if character == "-" {
                let next = index + 1 < characters.count ? characters[index + 1] : nil
                guard let next, !next.isWhitespace, next != ")" else {
                    throw ParseError(message: "'-' needs a word, phrase or group right after it", offset: index)
                }
                lexemes.append(Lexeme(token: .minus, offset: index))
                index += 1
            } else {
                var end = index
                while end < characters.count, !isWordBoundary(characters[end]) { end += 1 }
                let word = String(characters[index..<end])
                lexemes.append(Lexeme(token: operatorToken(word) ?? .word(word), offset: index))
                index = end
            }
        }
        return lexemes
    }

    private static func isWordBoundary(_ character: Character) -> Bool {
        character.isWhitespace || character == "(" || character == ")"
            || openingQuotes.contains(character) || closingQuotes.contains(character)
    }

    private static func operatorToken(_ word: String) -> Token? {
        switch word.lowercased() {
        case "or": .or
        case "and": .and
        case "not": .not
        default: nil
        }
    }
}
