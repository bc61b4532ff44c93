import Foundation

/// Folds news wording into comparable terms: lowercase, no stopwords, light stemming, and one
/// concept word for common synonyms ("martyred"/"killed" → killed, "car"/"motorcycle" → vehicle).
enum TextNormalizer {
    /// Concepts that are news facts: a later item adding one adds information.
    static let factConcepts: Set<String> = [
        "killed", "injured", "strike", "explosion", "ceasefire", "resign", "arrest", "missile", "hostage", "deny",
        "raid", "earthquake", "fire",
    ]

    /// Word → concept. Ticker copy says the same thing many ways; these are the common ones.
    static let synonyms: [String: String] = {
        let groups: [String: [String]] = [
            "killed": ["killed", "kill", "kills", "killing", "martyred", "martyr", "martyrs", "dead", "died", "dies", "death", "deaths", "slain"],
            "injured": ["injured", "injuries", "injury", "wounded", "wounding", "hurt"],
            "strike": ["strike", "strikes", "struck", "airstrike", "airstrikes", "bombing", "bombed", "bombardment", "shelling", "shelled", "attack", "attacks", "attacked"],
            "vehicle": ["car", "cars", "vehicle", "vehicles", "motorcycle", "motorcycles", "motorbike", "truck", "van", "jeep"],
            "hostage": ["hostage", "hostages", "captive", "captives"],
            "target": ["target", "targets", "targeted", "targeting"],
            "drone": ["drone", "drones", "uav", "uavs"],
            "explosion": ["explosion", "explosions", "blast", "blasts", "exploded", "explode"],
            "ceasefire": ["ceasefire", "truce", "cease-fire"],
            "resign": ["resign", "resigns", "resigned", "resignation", "resigning"],
            "arrest": ["arrest", "arrests", "arrested", "detained", "detain", "detains", "detention", "abducted", "kidnapped"],
            "missile": ["missile", "missiles", "rocket", "rockets"],
            "deny": ["deny", "denies", "denied", "dismiss", "dismisses", "dismissed", "rejects", "rejected"],
            "troop": ["troop", "troops", "soldier", "soldiers"],
            "earthquake": ["earthquake", "earthquakes", "quake", "tremor"],
            "fire": ["fire", "fired", "firing", "fires", "blaze"],
            "raid": ["raid", "raids", "raided", "storm", "storms", "stormed"],
        ]
        var map: [String: String] = [:]
        for (concept, words) in groups {
            for word in words { map[word] = concept }
        }
        return map
    }()

    /// Number words as digits, so "One martyred" and "1 martyred" agree.
    static let numberWords: [String: String] = [
        "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
        "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "dozen": "12", "dozens": "dozens", "hundreds": "hundreds",
    ]

    static let stopwords: Set<String> = [
        "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or", "but", "is", "are", "was",
        "were", "be", "been", "being", "has", "have", "had", "it", "its", "this", "that", "these", "those", "he", "she",
        "they", "we", "our", "us", "his", "her", "their", "them", "will", "would", "can", "could", "should", "may", "might",
        "not", "no", "as", "if", "than", "then", "so", "such", "after", "before", "between", "into", "over", "about",
        "against", "during", "toward", "towards", "who", "which", "what", "when", "where", "while", "also", "said", "says",
        "say", "there", "here", "all", "any", "more", "most", "very", "again", "this", "time", "town", "towns", "city",
        "village", "near", "amid", "since", "per", "via", "up", "out", "i", "you", "my", "your", "just",
        // Titles: who someone is travels in the person's key; "Prime Minister" vs "PM" should not matter.
        "prime", "minister", "pm", "president", "spokesman", "spokesperson", "chief", "official", "officials", "secretary",
    ]

    /// Lowercase words with punctuation and extra whitespace removed: the form exact duplicates are compared in.
    static func folded(_ text: String) -> String {
        TextToken.tokenize(text).map(\.lowered).joined(separator: " ")
    }

    /// Content terms of `tokens`: stopwords and numbers dropped, synonyms folded, plurals and -ed/-ing stripped.
    static func terms(_ tokens: [TextToken]) -> [String] {
        tokens.compactMap { token in
            let word = token.lowered
            guard !token.isNumeric, numberWords[word] == nil, !stopwords.contains(word) else { return nil }
            return synonyms[word] ?? stem(word)
        }
    }

    /// Numbers in `tokens`, as digits without separators ("4,500" → "4500", "one" → "1").
    static func numbers(_ tokens: [TextToken]) -> [String] {
        tokens.compactMap { token in
            if let word = numberWords[token.lowered] { return word }
            guard token.isNumeric else { return nil }
            return token.text.replacingOccurrences(of: ",", with: "")
        }
    }

    /// A light English stemmer: enough to make "targets"/"targeted", "raids"/"raid" agree.
    static func stem(_ word: String) -> String {
        if word.count > 4, word.hasSuffix("ies") { return String(word.dropLast(3)) + "y" }
        if word.count > 5, word.hasSuffix("ing") { return String(word.dropLast(3)) }
        if word.count > 4, word.hasSuffix("ed") { return String(word.dropLast(2)) }
        if word.count > 3, word.hasSuffix("s"), !["ss", "us", "is"].contains(where: word.hasSuffix) { return String(word.dropLast()) }
        return word
    }
}
