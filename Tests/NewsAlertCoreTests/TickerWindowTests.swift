import Foundation
import NewsAlertCore
import Testing

@Suite struct TickerWindowTests {
    static func item(_ n: Int, regions: [NewsRegion] = [.mena], audience: [String] = []) -> TickerItem {
        let event = FanoutPlannerTests.enriched(id: "evt_\(n)", story: "story-evt_\(n)", regions: regions)
        return TickerItem(event, audience: audience)!
    }

    static func window(capacity: Int, positions: ClosedRange<Int64>) -> TickerWindow {
        var window = TickerWindow(capacity: capacity, epoch: "cluster-a")
        for position in positions { window.append(position: position, item: item(Int(position))) }
        return window
    }

    @Test func aResumeGetsExactlyWhatCameAfterItsPosition() {
        let replay = Self.window(capacity: 10, positions: 0...5).replay(after: 3, epoch: "cluster-a", backlog: 0)
        #expect(replay.gap == nil)
        #expect(replay.entries.map(\.position) == [4, 5])
    }

    @Test func aPositionOlderThanTheWindowGetsAGapNamingTheMissingRange() throws {
        let replay = Self.window(capacity: 3, positions: 0...9).replay(after: 2, epoch: "cluster-a", backlog: 0)
        let gap = try #require(replay.gap)
        #expect(gap.from == 3 && gap.to == 6)
        #expect(replay.entries.map(\.position) == [7, 8, 9])
    }

    @Test func anotherEpochGetsAGapAndEverythingRetained() {
        let replay = Self.window(capacity: 5, positions: 0...2).replay(after: 40, epoch: "cluster-b", backlog: 0)
        #expect(replay.gap != nil)
        #expect(replay.entries.map(\.position) == [0, 1, 2])
    }

    @Test func aNewClientGetsTheBacklogAndRepeatedPositionsAreIgnored() {
        var window = Self.window(capacity: 5, positions: 0...4)
        window.append(position: 4, item: Self.item(99))
        #expect(window.replay(after: nil, epoch: nil, backlog: 2).entries.map(\.position) == [3, 4])
        #expect(window.count == 5)
    }

    @Test func filtersAdmitByRegionSectionKindAndAudience() {
        let mena = Self.item(1, regions: [.mena], audience: ["sbr_a"])
        #expect(TickerFilter(regions: [.mena]).admits(mena))
        #expect(!TickerFilter(regions: [.europe]).admits(mena))
        #expect(!TickerFilter(sections: [.economy]).admits(mena))
        #expect(TickerFilter(subscriberID: "sbr_a").admits(mena))
        #expect(!TickerFilter(subscriberID: "sbr_b").admits(mena))
    }

    @Test func repeatsThatAddNothingAreNotTickerItemsAndKillsAreRetractions() {
        let repeatLine = FanoutPlannerTests.enriched(id: "evt_2", story: "story-evt_1", sequence: 2, relation: .update, addsInformation: false)
        #expect(TickerItem(repeatLine, audience: []) == nil)
        let kill = FanoutPlannerTests.enriched(id: "evt_3", story: "story-evt_1", sequence: 3, relation: .kill, status: .canceled, supersedes: "evt_1")
        #expect(TickerItem(kill, audience: [])?.type == .retraction)
    }
}
