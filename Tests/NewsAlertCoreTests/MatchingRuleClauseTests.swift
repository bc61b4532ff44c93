import Foundation
import NewsAlertCore
import Testing

/// Builders shared by the matching and policy tests.
enum MatchingFixtures {
    /// The criteria of a rule written as JSON, validated for a UTC subscriber.
    static func criteria(_ json: String) throws -> MatchCriteria {
        try SubscriptionRule.decode(from: Data(json.utf8)).validate(timeZone: "UTC").criteria
    }

    static func event(
        kind: NewsKind = .article, sections: [NewsSection] = [.politics], regions: [NewsRegion] = [.mena], countries: [String] = [],
        tags: [String] = [], entities: [String] = [], urgency: Int = 5, text: String = "Officials met on Friday."
    ) -> MatchableEvent {
        MatchableEvent(
            eventID: "event-1", storyID: "story-1", kind: kind, sections: sections, regions: regions, countries: countries,
            tags: tags, entities: entities, urgency: Urgency(rawValue: urgency) ?? .routine, text: text)
    }

    /// The reasons `json` matches `event` for (nil: no match), checked to agree between the index and the linear scan.
    static func reasons(_ json: String, _ event: MatchableEvent) throws -> [String]? {
        let rule = try criteria(json)
        var index = SubscriptionIndex()
        var scanner = LinearRuleScanner()
        index.insert(id: "rule-1", subscriberID: "subscriber-1", rule: rule)
        scanner.insert(id: "rule-1", subscriberID: "subscriber-1", rule: rule)
        let indexed = index.match(event)
        #expect(indexed == scanner.match(event))
        #expect(indexed.count <= 1)
        return indexed.first.map { $0.reasons.map(\.description) }
    }

    /// An instant written in RFC 3339 with its offset, e.g. `2025-03-30T03:00:00+02:00`.
    static func date(_ text: String) throws -> Date {
        try #require(RFC3339.parse(text))
    }

    static func zone(_ identifier: String) throws -> TimeZone {
        try #require(TimeZone(identifier: identifier))
    }
}

@Suite struct MatchingRuleClauseTests {
    typealias F = MatchingFixtures

    @Test func sectionsMatchAnyListedSection() throws {
        let rule = #"{"sections": ["Politics", "Economy"]}"#
        #expect(try F.reasons(rule, F.event(sections: [.politics])) == ["sections: Politics"])
        #expect(try F.reasons(rule, F.event(sections: [.economy, .technology])) == ["sections: Economy"])
        #expect(try F.reasons(rule, F.event(sections: [.sports])) == nil)
    }

    @Test func regionsNameEveryMatchingRegion() throws {
        let rule = #"{"regions": ["MENA", "Palestine"]}"#
        #expect(try F.reasons(rule, F.event(regions: [.palestine, .mena])) == ["regions: Palestine", "regions: MENA"])
        #expect(try F.reasons(rule, F.event(regions: [.europe])) == nil)
    }

    @Test func countriesAreUpperCaseAlpha2() throws {
        let rule = #"{"countries": ["lb"]}"#
        #expect(try F.reasons(rule, F.event(countries: ["IL", "LB"])) == ["countries: LB"])
        #expect(try F.reasons(rule, F.event(countries: ["lb"])) == ["countries: LB"])
        #expect(try F.reasons(rule, F.event(countries: ["SY"])) == nil)
    }

    @Test func tagsAndEntitiesIgnoreCaseAndDiacritics() throws {
        #expect(try F.reasons(#"{"tags": ["gaza"]}"#, F.event(tags: ["Gaza", "ceasefire"])) == ["tags: Gaza"])
        #expect(try F.reasons(#"{"tags": ["gaza"]}"#, F.event(tags: ["Gaza Strip"])) == nil)
        #expect(try F.reasons(#"{"entities": ["Naïm Qassem"]}"#, F.event(entities: ["Naim Qassem"])) == ["entities: Naim Qassem"])
        #expect(try F.reasons(#"{"entities": ["Hezbollah"]}"#, F.event(entities: ["Hamas"])) == nil)
    }

    @Test func kindsMatchTheEventKind() throws {
        let rule = #"{"kinds": ["breaking", "analysis"]}"#
        #expect(try F.reasons(rule, F.event(kind: .breaking)) == ["kinds: breaking"])
        #expect(try F.reasons(rule, F.event(kind: .opinion)) == nil)
    }

    @Test func keywordsMatchWordsAndPhrasesAndHonourExclusions() throws {
        let rule = #"{"keywords": "ceasefire OR \"drone strike\" -rumour"}"#
        #expect(try F.reasons(rule, F.event(text: "An Israeli drone strike targeted a car in Kawnin.")) == [#"keywords: "drone strike""#])
        #expect(try F.reasons(rule, F.event(text: "Ceasefire talks resume; a drone strike was reported.")) == ["keywords: ceasefire", #"keywords: "drone strike""#])
        #expect(try F.reasons(rule, F.event(text: "Ceasefire rumour denied by officials.")) == nil)
        #expect(try F.reasons(rule, F.event(text: "A strike by a drone hit the town.")) == nil)
        #expect(try F.reasons(rule, F.event(text: "Drone strikes continued.")) == nil, "whole words only: strikes is not strike")
    }

    @Test func maxUrgencyMatchesEventsAtLeastThatUrgent() throws {
        let rule = #"{"max_urgency": 3}"#
        #expect(try F.reasons(rule, F.event(urgency: 1)) == ["max_urgency: 1 ≤ 3"])
        #expect(try F.reasons(rule, F.event(urgency: 3)) == ["max_urgency: 3 ≤ 3"])
        #expect(try F.reasons(rule, F.event(urgency: 4)) == nil)
    }

    @Test func allMatchesEveryEvent() throws {
        #expect(try F.reasons(#"{"all": true}"#, F.event(kind: .blog, sections: [], regions: [], urgency: 9, text: "")) == ["all: true"])
    }

    @Test func everyGivenClauseMustMatch() throws {
        let rule = #"{"sections": ["Politics"], "regions": ["MENA", "Europe"], "keywords": "drone", "max_urgency": 4}"#
        let event = F.event(sections: [.politics], regions: [.mena], urgency: 2, text: "A drone was shot down.")
        #expect(try F.reasons(rule, event) == ["sections: Politics", "regions: MENA", "max_urgency: 2 ≤ 4", "keywords: drone"])
        #expect(try F.reasons(rule, F.event(sections: [.economy], regions: [.mena], urgency: 2, text: "A drone.")) == nil)
        #expect(try F.reasons(rule, F.event(sections: [.politics], regions: [.asia], urgency: 2, text: "A drone.")) == nil)
        #expect(try F.reasons(rule, F.event(sections: [.politics], regions: [.europe], urgency: 5, text: "A drone.")) == nil)
        #expect(try F.reasons(rule, F.event(sections: [.politics], regions: [.europe], urgency: 2, text: "Drones.")) == nil)
    }

    @Test func removedAndReplacedRulesStopMatching() throws {
        var index = SubscriptionIndex()
        index.insert(id: "rule-1", subscriberID: "subscriber-1", rule: try F.criteria(#"{"regions": ["MENA"]}"#))
        index.insert(id: "rule-2", subscriberID: "subscriber-1", rule: try F.criteria(#"{"sections": ["Politics", "Sports"]}"#))
        #expect(Set(index.match(F.event()).map(\.subscriptionID)) == ["rule-1", "rule-2"])
        index.insert(id: "rule-1", subscriberID: "subscriber-1", rule: try F.criteria(#"{"regions": ["Europe"]}"#))
        #expect(index.match(F.event()).map(\.subscriptionID) == ["rule-2"])
        let removed = index.remove(id: "rule-2")
        let removedAgain = index.remove(id: "rule-2")
        #expect(removed)
        #expect(!removedAgain)
        #expect(index.match(F.event()).isEmpty)
        #expect(index.count == 1)
    }

    @Test func explanationNamesClauseAndValue() throws {
        var index = SubscriptionIndex()
        index.insert(id: "rule-7", subscriberID: "subscriber-3", rule: try F.criteria(#"{"regions": ["MENA"], "keywords": "\"drone strike\""}"#))
        let match = try #require(index.match(F.event(text: "Israeli drone strike on a car")).first)
        #expect(match.subscriptionID == "rule-7")
        #expect(match.subscriberID == "subscriber-3")
        #expect(match.explanation == #"regions: MENA; keywords: "drone strike""#)
    }
}
