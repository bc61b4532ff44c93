import Foundation
import NewsAlertCore
import Testing

/// Shared fixtures: the gazetteer, an enricher, and the newsroom's BREAKING ticker from the seed page.
enum TestFixtures {
    /// The publication's front page, kept in `Tests/Fixtures`.
    static let seedPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/newsroom-front-page.txt").path

    /// The seed page's BREAKING lines as printed (newest first), used when the seed file is absent.
    static let inlinedBreakingLines = [
        "Trump: Make the deal, get the hostages back",
        "Al Mayadeen's correspondent: 67 Palestinians were martyred in 24 hours in the Israeli aggression on the Gaza Strip",
        "Israeli media: For the first time, Prime Minister Netanyahu is signaling that he wants to end the war on Gaza",
        "Israeli Channel 12, citing an American source: We want to have entered a path toward captive release and a ceasefire before Netanyahu arrives in Washington",
        "Lebanese Ministry of Health: One martyr and two injured in the Israeli airstrike that targeted a motorcycle in the town of Mahrouna",
        "Al Mayadeen correspondent to Southern Lebanon: An Israeli drone strike targeted a vehicle between the towns of Jwayya and Mahrouna.",
        "Al Mayadeen's correspondent in South Lebanon: One martyred in the Israeli drone strike on a car in the town of Kawnin",
        "Al Mayadeen's correspondent in South Lebanon: Israeli drone targets a car in the town of Kawnin",
        "Naeini: If our national interests are attacked again, our response this time will be stronger and more destructive",
        "Naeini: The war has proven that the settlers are defenseless against Iranian missile and drone forces",
    ]

    /// The BREAKING lines from the seed page if present (else the inlined copy), newest first as printed.
    static func breakingLinesNewestFirst() -> [String] {
        guard let page = try? String(contentsOfFile: seedPath, encoding: .utf8) else { return inlinedBreakingLines }
        let lines = page.components(separatedBy: .newlines).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let start = lines.firstIndex(of: "BREAKING") else { return inlinedBreakingLines }
        let ticker = lines[(start + 1)...].prefix { !$0.isEmpty }
        return ticker.isEmpty ? inlinedBreakingLines : Array(ticker)
    }

    /// The gazetteer from the system iso-codes file and the bundled supplement.
    static func gazetteer() throws -> Gazetteer {
        try cachedGazetteer.get()
    }

    static func enricher() throws -> Enricher {
        Enricher(gazetteer: try gazetteer())
    }

    private static let cachedGazetteer = Result { try Gazetteer.load() }

    static let epoch = Date(timeIntervalSince1970: 1_750_000_000)

    /// A breaking event with `headline`, published `minutes` after `epoch`.
    static func breaking(_ id: String, _ headline: String, minutes: Double = 0) -> NewsEvent {
        NewsEvent(id: id, kind: .breaking, headline: headline, publishedAt: epoch.addingTimeInterval(minutes * 60))
    }
}

@Suite struct EnrichmentFixtureTests {
    @Test func seedTickerHasTenLinesInPrintedOrder() {
        let lines = TestFixtures.breakingLinesNewestFirst()
        #expect(lines.count == 10)
        #expect(lines.first?.hasPrefix("Trump:") == true)
        #expect(lines.last?.hasPrefix("Naeini:") == true)
    }

    @Test func inlinedCopyMatchesTheSeedFile() throws {
        try #require(FileManager.default.fileExists(atPath: TestFixtures.seedPath))
        #expect(TestFixtures.breakingLinesNewestFirst() == TestFixtures.inlinedBreakingLines)
    }
}
