import Foundation
import NewsAlertCore
import Testing

/// The newsroom's threading decision (`story_override`) and the threader's side-effect-free preview.
@Suite struct StoryOverrideTests {
    let enricher: Enricher
    init() throws { enricher = try TestFixtures.enricher() }

    private func process(_ threader: inout StoryThreader, _ event: NewsEvent) -> DedupDecision {
        threader.process(event: event, enrichment: enricher.enrich(event), now: event.publishedAt)
    }

    private static let first = "Al Mayadeen's correspondent in South Lebanon: Israeli drone targets a car in the town of Kawnin"
    private static let update = "Al Mayadeen's correspondent in South Lebanon: One martyred in the Israeli drone strike on a car in the town of Kawnin"
    private static let unrelated = "Explosion heard in central Damascus"

    @Test func aLineThatWouldJoinAStoryStartsANewOneWhenTheNewsroomSaysSo() throws {
        var threader = StoryThreader()
        _ = process(&threader, TestFixtures.breaking("e1", Self.first))
        var forced = TestFixtures.breaking("e2", Self.update, minutes: 3)
        // Without the override it is an update of story-e1…
        let usual = threader.preview(event: forced, enrichment: enricher.enrich(forced), now: forced.publishedAt)
        #expect(usual.assignment?.storyId == "story-e1")
        #expect(usual.assignment?.relation == .update)
        // …with it, a story of its own.
        forced.storyOverride = .newStory
        let assignment = try #require(process(&threader, forced).assignment)
        #expect(assignment.storyId == "story-e2")
        #expect(assignment.relation == .new)
        #expect(assignment.sequence == 1)
        #expect(assignment.because == "the newsroom asked for a new story")
    }

    @Test func anUnrelatedLineJoinsTheStoryTheNewsroomNames() throws {
        var threader = StoryThreader()
        _ = process(&threader, TestFixtures.breaking("e1", Self.first))
        _ = process(&threader, TestFixtures.breaking("e2", Self.update, minutes: 2))
        var forced = TestFixtures.breaking("e3", Self.unrelated, minutes: 5)
        #expect(threader.preview(event: forced, enrichment: enricher.enrich(forced), now: forced.publishedAt).assignment?.relation == .new)
        forced.storyOverride = .updateOf(storyID: "story-e1")
        let assignment = try #require(process(&threader, forced).assignment)
        #expect(assignment.storyId == "story-e1")
        #expect(assignment.relation == .update)
        #expect(assignment.sequence == 3)
        #expect(assignment.updateOf == "e2")
        #expect(assignment.similarity < 0.47, "the similarity stays the measured one: \(assignment.similarity)")
        #expect(assignment.because.hasPrefix("the newsroom made it an update of story-e1 (similarity "))
    }

    @Test func forcingANewStoryAlsoKeepsAnExactRepeat() throws {
        var threader = StoryThreader()
        _ = process(&threader, TestFixtures.breaking("e1", Self.unrelated))
        var repeated = TestFixtures.breaking("e2", Self.unrelated, minutes: 1)
        #expect(threader.preview(event: repeated, enrichment: enricher.enrich(repeated), now: repeated.publishedAt) == .duplicate(.exact, of: "e1"))
        repeated.storyOverride = .newStory
        #expect(process(&threader, repeated).assignment?.storyId == "story-e2")
    }

    @Test func anUpdateOfAStoryTheIndexDoesNotHoldIsThreadedAsUsual() throws {
        var threader = StoryThreader()
        _ = process(&threader, TestFixtures.breaking("e1", Self.first))
        var event = TestFixtures.breaking("e2", Self.update, minutes: 3)
        event.storyOverride = .updateOf(storyID: "story-gone")
        let assignment = try #require(process(&threader, event).assignment)
        #expect(assignment.storyId == "story-e1")
        #expect(!assignment.because.contains("newsroom"))
    }

    @Test func aPreviewLeavesTheIndexAsItWas() throws {
        var threader = StoryThreader()
        _ = process(&threader, TestFixtures.breaking("e1", Self.first))
        let before = threader.snapshot
        let event = TestFixtures.breaking("e2", Self.update, minutes: 3)
        let preview = threader.preview(event: event, enrichment: enricher.enrich(event), now: event.publishedAt)
        #expect(preview.assignment?.sequence == 2)
        #expect(threader.snapshot == before)
        // The same event processed for real gets the decision the preview showed.
        #expect(process(&threader, event) == preview)
        #expect(threader.story("story-e1")?.sequence == 2)
    }

    @Test func theOverrideTravelsAsOneStringAndIsValidatedOnInput() throws {
        let event = NewsEvent(id: "evt_1", kind: .breaking, headline: "h", publishedAt: TestFixtures.epoch, storyOverride: .updateOf(storyID: "story-evt_0"))
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder.newsAlert.encode(event)) as? [String: Any]
        #expect(encoded?["story_override"] as? String == "story-evt_0")
        #expect(try JSONDecoder.newsAlert.decode(NewsEvent.self, from: JSONEncoder.newsAlert.encode(event)) == event)
        let plain = try JSONSerialization.jsonObject(with: JSONEncoder.newsAlert.encode(TestFixtures.breaking("e", "h"))) as? [String: Any]
        #expect(plain?["story_override"] == nil, "absent unless the newsroom set it")

        let input = NewsEventInput()
        let received = TestFixtures.epoch
        #expect(try input.event(from: ["kind": "breaking", "headline": "h", "story_override": "new"], id: "evt_2", receivedAt: received).storyOverride == .newStory)
        #expect(throws: ValidationFailure([FieldProblem(field: "story_override", problem: #"must be "new" or the id of a story to update (story-evt_…)"#)])) {
            try input.event(from: ["kind": "breaking", "headline": "h", "story_override": "old"], id: "evt_3", receivedAt: received)
        }
        #expect(throws: ValidationFailure([FieldProblem(field: "story_override", problem: "cannot be set on a correction: it joins the story of the item it corrects")])) {
            try input.event(from: ["headline": "h", "story_override": "new"], id: "evt_4", receivedAt: received, supersedes: "evt_1", defaults: event)
        }
    }
}
