import Foundation
import NewsAlertCore

/// A deterministic stream of breaking lines in which each story gets a first line and escalating
/// wire updates (new numbers, new actors), interleaved with other stories, as a ticker shows them.
struct GeneratedNewsStream {
    /// A story shape: the place is fixed per story, numbers grow with each update.
    private static let templates: [(first: String, update: String)] = [
        ("Israeli drone strike targets a car in the town of {place}", "{n} martyred in the Israeli drone strike on a car in the town of {place}"),
        ("Explosion reported at a fuel depot in {place}", "Death toll from the fuel depot explosion in {place} rises to {n}"),
        ("Earthquake of magnitude {m} strikes near {place}", "{n} dead after the magnitude {m} earthquake near {place}, officials say"),
        ("Protesters gather outside parliament in {place}", "Police detain {n} protesters outside parliament in {place}"),
        ("Flooding cuts off roads around {place}", "{n} families evacuated as floods cut off roads around {place}"),
        ("Hospital in {place} reports power outage", "Ministry of Health: {n} patients moved after power outage at hospital in {place}"),
    ]
    /// Towns and cities the gazetteer knows, so each story is anchored to a place it can tell apart.
    private static let places = [
        "Beirut", "Tyre", "Sidon", "Nabatieh", "Bint Jbeil", "Kawnin", "Mahrouna", "Jwayya", "Aitaroun", "Marwahin",
        "Khiam", "Naqoura", "Yaroun", "Baalbek", "Gaza City", "Rafah", "Khan Younis", "Deir al-Balah", "Jabalia", "Beit Lahia",
        "Nuseirat", "Beit Hanoun", "Jenin", "Tubas", "Nablus", "Tulkarm", "Ramallah", "Hebron", "Haifa", "Tel Aviv",
        "Eilat", "Metula", "Kiryat Shmona", "Nahariya", "Sderot", "Ashkelon", "Ashdod", "Beersheba", "Tehran", "Isfahan",
        "Natanz", "Bandar Abbas", "Bushehr", "Shiraz", "Tabriz", "Mashhad", "Qom", "Damascus", "Aleppo", "Homs",
        "Latakia", "Idlib", "Daraa", "Baghdad", "Erbil", "Mosul", "Basra", "Sanaa", "Hodeidah", "Aden",
        "Cairo", "Amman", "Riyadh", "Jeddah", "Doha", "Dubai", "Muscat", "Ankara", "Istanbul", "Seoul",
        "Busan", "Pyongyang", "Beijing", "Shanghai", "Taipei", "Tokyo", "New Delhi", "Islamabad", "Kabul", "Caracas",
        "Havana", "Moscow", "Kyiv", "Kharkiv", "Odesa", "London", "Paris", "Berlin", "Brussels", "Vienna",
        "Geneva", "Athens", "Khartoum", "El Fasher", "Tripoli",
    ]

    let events: [NewsEvent]
    /// How many distinct stories the stream holds: what a perfect threader would form.
    let storyCount: Int

    init(events count: Int, updatesPerStory: Int = 4, seed: UInt64 = 42) {
        var random = SplitMix64(seed: seed)
        var events: [NewsEvent] = []
        var active: [(template: Int, place: String, magnitude: Int, updates: Int, openedAt: Date)] = []
        var lastUsed: [String: Date] = [:]
        var nextPlace = 0
        var stories = 0
        let start = Date(timeIntervalSince1970: 1_750_000_000)
        for index in 0..<count {
            // 150 s apart, like a busy ticker. A story takes updates for 3 hours at most, and a place
            // is reused only after 12 quiet hours (beyond every dedup window), so each story is
            // distinct and the generator's story count is the right answer.
            let now = start.addingTimeInterval(Double(index) * 150)
            active.removeAll { now.timeIntervalSince($0.openedAt) > 3 * 3600 }
            if active.count < 3 || random.next() % 4 == 0 {
                var place = Self.places[nextPlace % Self.places.count]
                for _ in 0..<Self.places.count where lastUsed[place].map({ now.timeIntervalSince($0) < 12 * 3600 }) ?? false {
                    nextPlace += 1
                    place = Self.places[nextPlace % Self.places.count]
                }
                nextPlace += 1
                lastUsed[place] = now
                let story = (template: stories % Self.templates.count, place: place, magnitude: 4 + Int(random.next() % 4), updates: 0, openedAt: now)
                stories += 1
                active.append(story)
                events.append(Self.event(index, Self.templates[story.template].first, story.place, number: 0, magnitude: story.magnitude, at: now))
            } else {
                let slot = Int(random.next() % UInt64(active.count))
                active[slot].updates += 1
                let story = active[slot]
                lastUsed[story.place] = now
                events.append(Self.event(index, Self.templates[story.template].update, story.place, number: story.updates * 3 + 1, magnitude: story.magnitude, at: now))
                if story.updates >= updatesPerStory { active.remove(at: slot) }
            }
        }
        self.events = events
        storyCount = stories
    }

    private static func event(_ index: Int, _ template: String, _ place: String, number: Int, magnitude: Int, at date: Date) -> NewsEvent {
        let headline = template.replacingOccurrences(of: "{place}", with: place)
            .replacingOccurrences(of: "{n}", with: String(number)).replacingOccurrences(of: "{m}", with: "\(magnitude).\(number % 10)")
        return NewsEvent(id: "gen-\(index)", kind: .breaking, headline: headline, publishedAt: date)
    }
}

/// A small, fast, seedable generator, so a benchmark stream is the same on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
