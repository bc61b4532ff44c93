import Foundation
import NewsAlertCore
import Testing

/// The newsroom's BREAKING ticker, fed oldest first, threaded into stories.
///
/// Decisions for the lines the brief leaves open: the Netanyahu line is its own story (a political
/// signal, not the Channel 12 report about his Washington trip nor the Gaza casualty count); the two
/// Naeini lines are one story (one spokesman's statement split across consecutive ticker lines,
/// joined by the quote-burst rule).
@Suite struct StoryThreadingSeedTests {
    /// One ticker line after enrichment and threading.
    struct Threaded {
        let line: String
        let event: NewsEvent
        let enrichment: Enrichment
        let decision: DedupDecision

        var storyId: String? { decision.assignment?.storyId }
    }

    /// The ticker oldest first, two minutes apart, through one threader.
    static func threadTicker() throws -> (lines: [Threaded], threader: StoryThreader) {
        let enricher = try TestFixtures.enricher()
        var threader = StoryThreader()
        let lines = TestFixtures.breakingLinesNewestFirst().reversed().enumerated().map { index, line in
            let event = TestFixtures.breaking("ticker-\(index + 1)", line, minutes: Double(index) * 2)
            let enrichment = enricher.enrich(event)
            let decision = threader.process(event: event, enrichment: enrichment, now: event.publishedAt)
            return Threaded(line: line, event: event, enrichment: enrichment, decision: decision)
        }
        return (lines, threader)
    }

    static func line(_ lines: [Threaded], _ fragment: String) throws -> Threaded {
        try #require(lines.first { $0.line.contains(fragment) }, "no ticker line contains '\(fragment)'")
    }

    @Test func kawninLinesFormOneStory() throws {
        let lines = try Self.threadTicker().lines
        let first = try Self.line(lines, "Israeli drone targets a car in the town of Kawnin")
        let second = try Self.line(lines, "One martyred in the Israeli drone strike on a car in the town of Kawnin")
        let update = try #require(second.decision.assignment)
        #expect(first.decision.assignment?.relation == .new)
        #expect(update.storyId == first.storyId)
        #expect(update.storyId == "story-" + first.event.id)
        #expect(update.relation == .update)
        #expect(update.sequence == 2)
        #expect(update.updateOf == first.event.id)
        #expect(update.addsInformation)
        #expect(update.newInformation.contains("fact killed"))
    }

    @Test func mahrounaLinesFormOneStoryApartFromKawnin() throws {
        let lines = try Self.threadTicker().lines
        let strike = try Self.line(lines, "between the towns of Jwayya and Mahrouna")
        let casualty = try Self.line(lines, "motorcycle in the town of Mahrouna")
        let kawnin = try Self.line(lines, "town of Kawnin")
        let update = try #require(casualty.decision.assignment)
        #expect(update.storyId == strike.storyId)
        #expect(update.updateOf == strike.event.id)
        #expect(update.sequence == 2)
        #expect(update.addsInformation)
        #expect(strike.storyId != kawnin.storyId)
        #expect(strike.decision.assignment?.relation == .new)
    }

    @Test func otherLinesAreTheirOwnStoriesAndNaeiniIsOneStatement() throws {
        let lines = try Self.threadTicker().lines
        for fragment in ["67 Palestinians", "Make the deal", "Channel 12", "Prime Minister Netanyahu"] {
            let line = try Self.line(lines, fragment)
            #expect(line.decision.assignment?.relation == .new, "\(fragment) should start a story")
            #expect(line.storyId == "story-" + line.event.id)
        }
        let naeiniFirst = try Self.line(lines, "settlers are defenseless")
        let naeiniSecond = try Self.line(lines, "national interests are attacked")
        #expect(naeiniSecond.storyId == naeiniFirst.storyId)
        #expect(naeiniSecond.decision.assignment?.because.contains("same speaker 'naeini'") == true)
        #expect(Set(lines.compactMap(\.storyId)).count == 7)
        #expect(lines.allSatisfy { !$0.decision.isDuplicate })
    }

    @Test func eachLineGetsItsCountryAndRegion() throws {
        let lines = try Self.threadTicker().lines
        let expectations: [(fragment: String, country: String, regions: [NewsRegion])] = [
            ("town of Kawnin", "LB", [.mena]),
            ("Jwayya and Mahrouna", "LB", [.mena]),
            ("motorcycle in the town of Mahrouna", "LB", [.mena]),
            ("67 Palestinians", "PS", [.palestine, .mena]),
            ("end the war on Gaza", "PS", [.palestine, .mena]),
            ("settlers are defenseless", "IR", [.mena]),
            ("national interests are attacked", "IR", [.mena]),
            ("Make the deal", "US", [.usAndCanada]),
            ("Netanyahu arrives in Washington", "US", [.usAndCanada]),
        ]
        for (fragment, country, regions) in expectations {
            let line = try Self.line(lines, fragment)
            #expect(line.enrichment.countries.contains(country), "\(fragment): \(line.enrichment.countries)")
            for region in regions {
                #expect(line.enrichment.regions.contains(region), "\(fragment): \(line.enrichment.regions)")
            }
        }
        let kawnin = try Self.line(lines, "Israeli drone targets a car in the town of Kawnin")
        #expect(kawnin.enrichment.reasons.contains(EnrichmentReason(
            field: "regions", value: "MENA",
            because: "country LB (Lebanon) via 'South Lebanon' [supplement: area of Lebanon south of the Litani], in the attribution"
        )))
        let naeini = try Self.line(lines, "settlers are defenseless")
        #expect(naeini.enrichment.reasons(for: "countries").first?.because.contains("person 'Naeini' (Ali Mohammad Naeini) [supplement:") == true)
    }

    @Test func replayingTheTickerIsIdempotent() throws {
        var (lines, threader) = try Self.threadTicker()
        let stories = threader.storyCount
        for line in lines {
            let decision = threader.process(event: line.event, enrichment: line.enrichment, now: line.event.publishedAt.addingTimeInterval(3600))
            #expect(decision == .duplicate(.idempotent, of: line.event.id))
        }
        #expect(threader.storyCount == stories)
    }
}
