import Foundation
import NewsAlertCore
import Testing

/// Idempotency, exact duplicates, corrections, kills, windows and pruning.
@Suite struct DedupDecisionTests {
    let enricher: Enricher
    init() throws { enricher = try TestFixtures.enricher() }

    private func process(_ threader: inout StoryThreader, _ event: NewsEvent, key: String? = nil, at minutes: Double? = nil) -> DedupDecision {
        let now = minutes.map { TestFixtures.epoch.addingTimeInterval($0 * 60) } ?? event.publishedAt
        return threader.process(event: event, enrichment: enricher.enrich(event), idempotencyKey: key, now: now)
    }

    @Test func sameEventIdOrIdempotencyKeyIsAnIdempotentDuplicate() {
        var threader = StoryThreader()
        let event = TestFixtures.breaking("e1", "Israeli drone targets a car in the town of Kawnin")
        #expect(process(&threader, event, key: "partition-0-offset-7").assignment?.relation == .new)
        #expect(process(&threader, event, at: 1) == .duplicate(.idempotent, of: "e1"))
        let redelivered = TestFixtures.breaking("e1-redelivered", "Israeli drone targets a car in the town of Kawnin")
        #expect(process(&threader, redelivered, key: "partition-0-offset-7", at: 2) == .duplicate(.idempotent, of: "e1"))
    }

    @Test func sameTextUnderAnotherAttributionIsAnExactDuplicate() {
        var threader = StoryThreader()
        _ = process(&threader, TestFixtures.breaking("e1", "Al Mayadeen's correspondent in South Lebanon: Israeli drone targets a car in the town of Kawnin"))
        let copy = TestFixtures.breaking("e2", "Israeli media: ISRAELI DRONE TARGETS A CAR, IN THE TOWN OF KAWNIN!", minutes: 3)
        #expect(process(&threader, copy) == .duplicate(.exact, of: "e1"))
        #expect(process(&threader, copy, at: 4) == .duplicate(.idempotent, of: "e2"))
    }

    @Test func sameWordsFromDifferentSpeakersAreNotExactDuplicates() {
        var threader = StoryThreader()
        _ = process(&threader, TestFixtures.breaking("e1", "Trump: We will respond"))
        #expect(process(&threader, TestFixtures.breaking("e2", "Putin: We will respond", minutes: 1)).isDuplicate == false)
    }

    @Test func exactDuplicatesAreOnlyCaughtWithinTheWindow() {
        var threader = StoryThreader(configuration: StoryThreaderConfiguration(matchWindow: 3600))
        _ = process(&threader, TestFixtures.breaking("e1", "Explosion heard in central Damascus"))
        let later = process(&threader, TestFixtures.breaking("e2", "Explosion heard in central Damascus", minutes: 61))
        #expect(later.assignment?.relation == .new)
        #expect(later.assignment?.storyId == "story-e2")
    }

    @Test func rewordedRepeatJoinsWithoutAddingInformation() throws {
        var threader = StoryThreader()
        _ = process(&threader, TestFixtures.breaking("e1", "Israeli drone targets a car in the town of Kawnin"))
        let repeatDecision = process(&threader, TestFixtures.breaking("e2", "Israeli drone targets car in Kawnin", minutes: 4))
        let assignment = try #require(repeatDecision.assignment)
        #expect(assignment.storyId == "story-e1")
        #expect(assignment.relation == .update)
        #expect(assignment.addsInformation == false)
        #expect(assignment.newInformation.isEmpty)
    }

    @Test func correctionJoinsTheStoryOfTheEventItSupersedes() throws {
        var threader = StoryThreader()
        _ = process(&threader, TestFixtures.breaking("e1", "Lebanese Ministry of Health: Two martyrs in the Israeli strike on Khiam"))
        _ = process(&threader, TestFixtures.breaking("e2", "Explosion heard in central Damascus", minutes: 1))
        var correction = TestFixtures.breaking("e3", "Lebanese Ministry of Health: Three martyrs in the Israeli strike on Khiam", minutes: 10)
        correction.supersedes = "e1"
        let assignment = try #require(process(&threader, correction).assignment)
        #expect(assignment == StoryAssignment(
            storyId: "story-e1", sequence: 2, updateOf: "e1", relation: .correction, supersedes: "e1", similarity: 1,
            addsInformation: true, newInformation: ["number 3"], because: "correction of e1, which joined story-e1"
        ))
    }

    @Test func killsJoinTheirStoryWhetherTheyNameTheEventOrReuseItsId() throws {
        var threader = StoryThreader()
        _ = process(&threader, TestFixtures.breaking("e1", "Israeli drone targets a car in the town of Kawnin"))
        _ = process(&threader, TestFixtures.breaking("e2", "One martyred in the Israeli drone strike on a car in the town of Kawnin", minutes: 2))
        var kill = TestFixtures.breaking("e3", "Withdrawn: the strike report was wrong", minutes: 5)
        kill.status = .canceled
        kill.supersedes = "e2"
        let killAssignment = try #require(process(&threader, kill).assignment)
        #expect(killAssignment.relation == .kill)
        #expect(killAssignment.storyId == "story-e1")
        #expect(killAssignment.sequence == 3)
        #expect(threader.snapshot.stories.first { $0.storyId == "story-e1" }?.killed == true)

        var sameIdKill = TestFixtures.breaking("e2", "One martyred in the Israeli drone strike on a car in the town of Kawnin", minutes: 6)
        sameIdKill.status = .canceled
        let reuse = try #require(process(&threader, sameIdKill).assignment)
        #expect(reuse.relation == .kill)
        #expect(reuse.supersedes == "e2")
        #expect(reuse.storyId == "story-e1")
        #expect(process(&threader, sameIdKill, at: 7) == .duplicate(.idempotent, of: "e2"))
    }

    @Test func correctionOfAnUnknownEventStartsItsOwnStory() throws {
        var threader = StoryThreader()
        var correction = TestFixtures.breaking("e9", "Correction: the strike was in Khiam")
        correction.supersedes = "gone"
        let assignment = try #require(process(&threader, correction).assignment)
        #expect(assignment.relation == .correction)
        #expect(assignment.storyId == "story-e9")
        #expect(assignment.supersedes == "gone")
    }

    @Test func quotesFromOneSpeakerJoinOnlyWithinTheBurstWindow() throws {
        var threader = StoryThreader()
        _ = process(&threader, TestFixtures.breaking("q1", "Naeini: The war has proven that the settlers are defenseless"))
        #expect(process(&threader, TestFixtures.breaking("q2", "Naeini: Our response will be stronger", minutes: 10)).assignment?.storyId == "story-q1")
        #expect(process(&threader, TestFixtures.breaking("q3", "Naeini: Our forces remain ready", minutes: 90)).assignment?.storyId == "story-q3")
    }

    @Test func storiesAndSeenIdsArePrunedAfterRetention() {
        let configuration = StoryThreaderConfiguration(matchWindow: 3600, retention: 7200)
        var threader = StoryThreader(configuration: configuration)
        _ = process(&threader, TestFixtures.breaking("e1", "Explosion heard in central Damascus"))
        _ = process(&threader, TestFixtures.breaking("e2", "Israeli drone targets a car in Kawnin", minutes: 100))
        #expect(threader.storyCount == 2)
        _ = process(&threader, TestFixtures.breaking("e3", "Oil prices rise", minutes: 130))
        #expect(threader.storyCount == 2)
        #expect(threader.snapshot.seen.map(\.eventId) == ["e2", "e3"])
        #expect(process(&threader, TestFixtures.breaking("e1", "Explosion heard in central Damascus"), at: 131).assignment?.storyId == "story-e1")
    }

    @Test func storyIdsAreDeterministicAcrossReplays() {
        func run() -> [String?] {
            var threader = StoryThreader()
            return TestFixtures.breakingLinesNewestFirst().reversed().enumerated().map { index, line in
                process(&threader, TestFixtures.breaking("t\(index)", line, minutes: Double(index))).assignment?.storyId
            }
        }
        #expect(run() == run())
    }
}
