import Foundation

/// One story in the threader's index: its recent items and everything it has reported so far.
public struct StoryRecord: Codable, Sendable, Hashable {
    /// One recent item of a story, kept for comparison.
    public struct Member: Codable, Sendable, Hashable {
        public var eventId: String
        public var fingerprint: StoryFingerprint
        public var at: Date

        enum CodingKeys: String, CodingKey {
            case eventId = "event_id"
            case fingerprint, at
        }
    }

    public var storyId: String
    public var firstEventId: String
    public var lastEventId: String
    /// Sequence number of the last accepted event.
    public var sequence: Int
    public var createdAt: Date
    public var updatedAt: Date
    /// True once a kill joined the story.
    public var killed: Bool
    /// The most recent items, oldest first, at most `maxComparedItemsPerStory`.
    public var members: [Member]
    /// Numbers, places, people, facts and words the story has reported, for `addsInformation`.
    public var knownNumbers: Set<String>
    public var knownPlaces: Set<String>
    public var knownEntities: Set<String>
    public var knownFacts: Set<String>
    public var knownWords: Set<String>

    /// An empty story that `append` will give its first event.
    init(storyId: String, firstEventId: String, createdAt: Date) {
        self.storyId = storyId
        self.firstEventId = firstEventId
        lastEventId = firstEventId
        sequence = 0
        self.createdAt = createdAt
        updatedAt = createdAt
        killed = false
        members = []
        knownNumbers = []
        knownPlaces = []
        knownEntities = []
        knownFacts = []
        knownWords = []
    }

    /// What `fingerprint` would add to the story: "number 1", "place Jwayya", "fact killed", …
    func newInformation(in fingerprint: StoryFingerprint, newWordingFraction: Double) -> [String] {
        var items = fingerprint.numbers.filter { !knownNumbers.contains($0) }.map { "number \($0)" }
        items += fingerprint.places.map(\.name).filter { !knownPlaces.contains($0) }.map { "place \($0)" }
        items += fingerprint.entities.filter { !knownEntities.contains($0) }.map { "entity \($0)" }
        items += fingerprint.facts.filter { !knownFacts.contains($0) }.map { "fact \($0)" }
        let newWords = fingerprint.words.filter { !knownWords.contains($0) }
        if !fingerprint.words.isEmpty {
            let fraction = Double(newWords.count) / Double(fingerprint.words.count)
            if fraction >= newWordingFraction { items.append("new wording (\(Int((fraction * 100).rounded()))% new words)") }
        }
        return items
    }

    /// Appends an accepted event and folds what it reports into the story's knowledge.
    mutating func append(eventId: String, fingerprint: StoryFingerprint, at: Date, limit: Int) {
        sequence += 1
        lastEventId = eventId
        updatedAt = max(updatedAt, at)
        members.append(Member(eventId: eventId, fingerprint: fingerprint, at: at))
        if members.count > limit { members.removeFirst(members.count - limit) }
        knownNumbers.formUnion(fingerprint.numbers)
        knownPlaces.formUnion(fingerprint.places.map(\.name))
        knownEntities.formUnion(fingerprint.entities)
        knownFacts.formUnion(fingerprint.facts)
        knownWords.formUnion(fingerprint.words)
    }

    enum CodingKeys: String, CodingKey {
        case storyId = "story_id"
        case firstEventId = "first_event_id"
        case lastEventId = "last_event_id"
        case sequence
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case killed, members
        case knownNumbers = "known_numbers"
        case knownPlaces = "known_places"
        case knownEntities = "known_entities"
        case knownFacts = "known_facts"
        case knownWords = "known_words"
    }
}
