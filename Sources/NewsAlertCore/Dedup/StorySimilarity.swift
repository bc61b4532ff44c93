import Foundation

/// How close two items are as reports of the same story, and what, if anything, rules the match out.
///
/// Text: weighted cosine similarity of the two term sets (content words after synonym folding and
/// stemming, numbers, and country and people/organisation keys), `Σ shared w² / sqrt(Σ A w² · Σ B w²)`,
/// which tolerates a short line being compared with a longer update. Terms common to nearly all of
/// this newsroom's copy ("Israeli", "occupation", "forces", Israel, Palestine) weigh `commonTermWeight`
/// instead of 1: sharing them says little, like a low IDF. Ticker lines are short, so exact sets are
/// cheap and more accurate than MinHash or SimHash sketches; the recent-story window bounds the comparisons.
///
/// Place: sharing a specific place (a town or city, or one inside the other) adds `sharedPlaceBonus`,
/// because "Mahrouna" in two items within hours is strong evidence even when the wording differs.
///
/// Vetoes: items naming different specific places (Kawnin vs Mahrouna), different areas when neither
/// names a town, or locations in disjoint countries, are never the same story, however similar the words.
public struct StorySimilarity: Sendable, Hashable {
    /// Text similarity plus the shared-place bonus, capped at 1; 0 when blocked.
    public var score: Double
    /// Cosine similarity of the term sets alone.
    public var textScore: Double
    /// Specific places both items name (or that enclose one another).
    public var sharedPlaces: [String]
    /// Why the items cannot be the same story, when they cannot.
    public var blockedBy: String?

    /// Compares two fingerprints.
    public static func compare(_ first: StoryFingerprint, _ second: StoryFingerprint, configuration: StoryThreaderConfiguration) -> StorySimilarity {
        let text = cosine(Set(first.terms), Set(second.terms), configuration: configuration)
        if let conflict = conflict(first, second) {
            return StorySimilarity(score: 0, textScore: text, sharedPlaces: [], blockedBy: conflict)
        }
        let shared = first.places.filter { place in
            place.isSpecific && second.places.contains { $0.isSpecific && $0.isRelated(to: place) }
        }.map(\.name)
        let score = min(1, text + (shared.isEmpty ? 0 : configuration.sharedPlaceBonus))
        return StorySimilarity(score: score, textScore: text, sharedPlaces: shared, blockedBy: nil)
    }

    static func cosine(_ first: Set<String>, _ second: Set<String>, configuration: StoryThreaderConfiguration) -> Double {
        let common = Set(configuration.commonTerms)
        func norm(_ terms: Set<String>) -> Double {
            terms.reduce(0) { sum, term in
                let weight = common.contains(term) ? configuration.commonTermWeight : 1
                return sum + weight * weight
            }
        }
        let denominator = (norm(first) * norm(second)).squareRoot()
        guard denominator > 0 else { return 0 }
        return norm(first.intersection(second)) / denominator
    }

    /// The reason two items cannot be one story, or nil.
    static func conflict(_ first: StoryFingerprint, _ second: StoryFingerprint) -> String? {
        let firstCountries = Set(first.locationCountries)
        let secondCountries = Set(second.locationCountries)
        if !firstCountries.isEmpty, !secondCountries.isEmpty, firstCountries.isDisjoint(with: secondCountries) {
            return "different countries: \(firstCountries.sorted().joined(separator: ", ")) vs \(secondCountries.sorted().joined(separator: ", "))"
        }
        let firstTowns = first.places.filter(\.isSpecific)
        let secondTowns = second.places.filter(\.isSpecific)
        if let names = unrelatedNames(firstTowns, secondTowns) {
            return "different places: \(names)"
        }
        if firstTowns.isEmpty, secondTowns.isEmpty, let names = unrelatedNames(first.places.filter(\.isArea), second.places.filter(\.isArea)) {
            return "different areas: \(names)"
        }
        return nil
    }

    /// "Kawnin vs Jwayya, Mahrouna" when both lists are non-empty and no place in one relates to one in the other.
    private static func unrelatedNames(_ first: [StoryFingerprint.Place], _ second: [StoryFingerprint.Place]) -> String? {
        guard !first.isEmpty, !second.isEmpty, !first.contains(where: { place in second.contains { $0.isRelated(to: place) } }) else { return nil }
        return "\(first.map(\.name).joined(separator: ", ")) vs \(second.map(\.name).joined(separator: ", "))"
    }
}
