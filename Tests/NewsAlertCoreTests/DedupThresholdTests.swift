import Foundation
import NewsAlertCore
import Testing

/// Near-duplicate threshold, measured on the labelled pairs in `Resources/labelled-pairs.jsonl`.
///
/// The set holds 91 pairs of real-style wire and ticker headlines: 71 written first (33 same-story,
/// 38 different-story, including the seed's Kawnin/Mahrouna lines and same-wording/different-town
/// pairs), then 20 "held-out" pairs written after the design was fixed and never used to tune it.
/// On the first 71, unblocked different-story pairs scored at most 0.43 and same-story pairs at least
/// 0.49 (with the 0.3 shared-place bonus); the default `joinThreshold` 0.47 sits in that gap. A false
/// join hides a distinct story inside another's updates, a missed join costs one extra alert, so the
/// threshold leans to the upper half of the gap, and the vetoes (different towns, areas or countries)
/// carry most of the precision.
/// Scored with it, the held-out pairs gave 10/10 same-story pairs joined and 2 false joins out of 10
/// (same town, different events; same speaker, different topics within the quote-burst window).
/// Overall: precision 0.956, recall 1.000.
@Suite struct DedupThresholdTests {
    @Test func labelledSetHasHighPrecisionAndRecall() throws {
        let pairs = try DedupEvaluation.bundledPairs()
        let measurement = DedupEvaluation.measure(pairs: pairs, enricher: try TestFixtures.enricher())
        print("dedup labelled pairs (\(pairs.count)), threshold \(StoryThreaderConfiguration().joinThreshold): \(measurement.summary)")
        let heldOut = DedupMeasurement(outcomes: measurement.outcomes.filter { $0.pair.note?.hasPrefix("held-out") == true })
        print("  of which held-out (\(heldOut.outcomes.count)): \(heldOut.summary)")
        for outcome in measurement.outcomes where !outcome.isCorrect {
            print(String(format: "  wrong (labelled %@, score %.2f): %@ || %@", outcome.pair.sameStory ? "same" : "different", outcome.similarity.score, outcome.pair.a, outcome.pair.b))
        }
        #expect(measurement.precision >= 0.9)
        #expect(measurement.recall >= 0.9)
    }

    @Test func thresholdSweepShowsTheChosenValueIsNotAKnifeEdge() throws {
        let pairs = try DedupEvaluation.bundledPairs()
        let enricher = try TestFixtures.enricher()
        for threshold in [0.40, 0.45, 0.47, 0.50, 0.55, 0.60] {
            let measurement = DedupEvaluation.measure(pairs: pairs, enricher: enricher, configuration: StoryThreaderConfiguration(joinThreshold: threshold))
            print(String(format: "threshold %.2f: ", threshold) + measurement.summary)
            if (0.45...0.50).contains(threshold) {
                #expect(measurement.precision >= 0.9 && measurement.recall >= 0.9)
            }
        }
    }

    @Test func labelledSetHasBothLabelsAndParsesAsData() throws {
        let pairs = try DedupEvaluation.bundledPairs()
        #expect(pairs.count >= 80)
        #expect(pairs.filter(\.sameStory).count >= 35)
        #expect(pairs.filter { !$0.sameStory }.count >= 35)
        let line = Data(#"{"a": "x", "b": "y", "same_story": true}"#.utf8 + [0x0A, 0x0A])
        #expect(try DedupEvaluation.parsePairs(jsonl: line) == [LabelledPair(a: "x", b: "y", sameStory: true)])
    }

    @Test func sameWordingInDifferentTownsIsBlocked() throws {
        let enricher = try TestFixtures.enricher()
        let kawnin = StoryFingerprint(enrichment: enricher.enrich(TestFixtures.breaking("k", "Al Mayadeen's correspondent in South Lebanon: One martyred in the Israeli drone strike on a car in the town of Kawnin")))
        let mahrouna = StoryFingerprint(enrichment: enricher.enrich(TestFixtures.breaking("m", "Al Mayadeen correspondent to Southern Lebanon: An Israeli drone strike targeted a vehicle between the towns of Jwayya and Mahrouna.")))
        let similarity = StorySimilarity.compare(kawnin, mahrouna, configuration: StoryThreaderConfiguration())
        #expect(similarity.textScore > StoryThreaderConfiguration().joinThreshold)
        #expect(similarity.score == 0)
        #expect(similarity.blockedBy == "different places: Kawnin vs Jwayya, Mahrouna")
    }

    @Test func sharedTownLiftsDifferentWordingOverTheThreshold() throws {
        let enricher = try TestFixtures.enricher()
        let strike = StoryFingerprint(enrichment: enricher.enrich(TestFixtures.breaking("a", "An Israeli drone strike targeted a vehicle between the towns of Jwayya and Mahrouna.")))
        let casualty = StoryFingerprint(enrichment: enricher.enrich(TestFixtures.breaking("b", "Lebanese Ministry of Health: One martyr and two injured in the Israeli airstrike that targeted a motorcycle in the town of Mahrouna")))
        let similarity = StorySimilarity.compare(strike, casualty, configuration: StoryThreaderConfiguration())
        #expect(similarity.sharedPlaces == ["Mahrouna"])
        #expect(similarity.score >= StoryThreaderConfiguration().joinThreshold)
    }
}
