import Foundation

/// Infers an IPTC-style urgency (1 flash … 9 routine) from cue words when the newsroom did not set one.
///
/// The scale, lowest (most urgent) cue wins:
/// - 1: a flash label ("BREAKING", "URGENT", "FLASH", "JUST IN") on the item.
/// - 2: deaths: killed, martyred, dead, death toll, assassinated.
/// - 3: violence and blasts: strikes, airstrikes, drone strikes, "targets" (as in "drone targets a car"), shelling,
///   bombing, raids, explosions, missile launches.
/// - 4: political breaks: resignations, ceasefires and truces, declarations of war, coups, states of emergency.
/// - 5: a breaking item with none of those cues (the newsroom published it as breaking).
/// - 9: routine: anything else.
struct UrgencyClassifier: Sendable {
    /// The inferred urgency and the words that set it.
    struct Result: Sendable {
        let urgency: Urgency
        let because: String
    }

    static let flashLabels: Set<String> = ["BREAKING", "URGENT", "FLASH", "JUST IN", "ALERT"]

    private let levels: [(level: Int, name: String, cues: CuePhrases)] = [
        (2, "deaths", CuePhrases([
            "killed", "kills", "killing", "martyr*", "dead", "died", "dies", "death*", "death toll", "assassinat*", "slain", "casualties",
        ])),
        (3, "strikes and explosions", CuePhrases([
            "strike", "strikes", "struck", "airstrike*", "air strike*", "drone strike*", "bombing*", "bombed", "bombard*",
            "shelling", "shelled", "raid*", "explosion*", "explode*", "blast*", "targets", "targeted", "missile launch*",
            "rocket fire", "sirens",
        ])),
        (4, "resignations and ceasefires", CuePhrases([
            "resign*", "steps down", "ceasefire*", "cease-fire*", "truce", "declares war", "coup", "state of emergency",
        ])),
    ]

    /// Urgency for an item given its flash label (if any), its kind and the lowercased words of its text.
    func classify(label: String?, kind: NewsKind, words: [String]) -> Result {
        if let label, UrgencyClassifier.flashLabels.contains(label.uppercased()) {
            return Result(urgency: .flash, because: "flash label '\(label)'")
        }
        for (level, name, cues) in levels {
            let hits = cues.hits(in: words)
            if let urgency = Urgency(rawValue: level), !hits.isEmpty {
                return Result(urgency: urgency, because: "\(name) cue \(Quoted.list(hits)) → \(level) on the 1 (flash) to 9 (routine) scale")
            }
        }
        if kind == .breaking, let urgency = Urgency(rawValue: 5) {
            return Result(urgency: urgency, because: "breaking item without flash, death, strike, resignation or ceasefire cues → 5")
        }
        return Result(urgency: .routine, because: "no urgency cues → routine 9")
    }
}
