import Foundation

/// Infers a news section from cue words when the newsroom did not set one.
///
/// Each section has a list of cue words; the section with most hits wins, ties going to the earlier
/// section in `priority` (hard news first). No hits at all gives Miscellaneous.
struct SectionClassifier: Sendable {
    /// The inferred section and the cue words that chose it.
    struct Result: Sendable {
        let section: NewsSection
        let cues: [String]
    }

    static let priority: [NewsSection] = [.politics, .economy, .health, .technology, .environment, .sports, .artsAndCulture]

    private let cues: [NewsSection: CuePhrases] = [
        .politics: CuePhrases([
            "war", "military", "army", "troop*", "soldier*", "minister", "president", "prime minister", "government", "election*",
            "parliament", "ceasefire", "truce", "strike", "strikes", "airstrike*", "drone*", "missile*", "martyr*", "killed",
            "occupation", "aggression", "hostage*", "captive*", "negotiation*", "talks", "deal", "sanction*", "alliance",
            "diplomacy", "diplomatic", "nuclear", "forces", "resistance", "settler*", "attack*", "invasion", "defense", "defence",
            "policy", "regime", "spokesman", "spokesperson", "ministry", "deterrence", "withdraw*", "raid*", "bombard*",
        ]),
        .economy: CuePhrases([
            "economy", "economic", "market*", "stock*", "oil price*", "inflation", "tariff*", "trade", "gdp", "bank*",
            "currency", "dollar", "investment*", "budget", "debt", "export*", "import*", "shares", "recession", "interest rate*",
        ]),
        .sports: CuePhrases([
            "football", "soccer", "match", "league", "cup", "tournament", "olympic*", "championship", "goal*", "coach",
            "fifa", "player*", "stadium", "medal*", "clasico",
        ]),
        .artsAndCulture: CuePhrases([
            "film*", "festival", "music", "album", "artist*", "museum", "novel*", "book*", "theatre", "theater", "cinema",
            "culture", "cultural", "heritage", "exhibition", "poet*", "painting*",
        ]),
        .health: CuePhrases([
            "disease*", "vaccin*", "outbreak", "epidemic", "pandemic", "virus", "cholera", "polio", "cancer", "medicine*",
            "public health", "health care", "healthcare", "patients", "malnutrition", "infection*",
        ]),
        .technology: CuePhrases([
            "technology", "tech", "artificial intelligence", "software", "cyber*", "hacker*", "smartphone*", "chip*",
            "semiconductor*", "internet", "startup*", "robot*", "app",
        ]),
        .environment: CuePhrases([
            "climate", "emission*", "wildfire*", "flood*", "drought", "pollution", "earthquake*", "heatwave*",
            "deforestation", "carbon", "biodiversity", "hurricane*", "cyclone*", "environment*",
        ]),
    ]

    /// The best-supported section for `words` (lowercased words of the analysed text).
    func classify(_ words: [String]) -> Result {
        var best = Result(section: .miscellaneous, cues: [])
        for section in SectionClassifier.priority {
            let hits = cues[section]?.hits(in: words) ?? []
            if hits.count > best.cues.count { best = Result(section: section, cues: hits) }
        }
        return best
    }
}
