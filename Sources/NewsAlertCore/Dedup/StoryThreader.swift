import Foundation

/// Drops duplicate events and threads the rest into stories. A pure state machine: no I/O, no clock.
///
/// For each event, in order:
/// 1. Idempotency: an event id or idempotency key seen before is `.duplicate(.idempotent)`, except a
///    kill that reuses the id of the event it kills (same id, status now canceled).
/// 2. Corrections and kills: an event with `supersedes`, or with status canceled, joins the story of the
///    event it replaces, as `.correction` or `.kill`.
/// 2a. The newsroom's `storyOverride`: a new story, or an update of a story still in the index (an editor's
///    choice beats the exact-duplicate and similarity tests below).
/// 3. Exact duplicates: the same folded text (and speaker) as an item of a recent story is `.duplicate(.exact)`.
/// 4. Near duplicates and updates: the event joins the recent story it is most similar to, if the
///    similarity reaches `joinThreshold` (see `StorySimilarity`), or quotes the same speaker within
///    `quoteBurstWindow` with nothing ruling the match out; otherwise it starts a new story.
///
/// Story ids are "story-" + the first event's id, so replaying a feed reproduces them. The state is a
/// `StoryIndexSnapshot` that can be persisted and restored; stories and seen ids older than `retention` are pruned.
public struct StoryThreader: Sendable {
    public let configuration: StoryThreaderConfiguration
    private var stories: [String: StoryRecord] = [:]
    private var seen: [String: SeenEvent] = [:]
    private var eventIdByIdempotencyKey: [String: String] = [:]

    public init(configuration: StoryThreaderConfiguration = StoryThreaderConfiguration()) {
        self.configuration = configuration
    }

    /// Restores a threader from a snapshot taken with `snapshot`.
    public init(snapshot: StoryIndexSnapshot, configuration: StoryThreaderConfiguration = StoryThreaderConfiguration()) {
        self.configuration = configuration
        for story in snapshot.stories { stories[story.storyId] = story }
        for event in snapshot.seen { remember(event) }
    }

    /// The whole state, oldest stories and events first.
    public var snapshot: StoryIndexSnapshot {
        StoryIndexSnapshot(
            stories: stories.values.sorted { ($0.createdAt, $0.storyId) < ($1.createdAt, $1.storyId) },
            seen: seen.values.sorted { ($0.seenAt, $0.eventId) < ($1.seenAt, $1.eventId) }
        )
    }

    /// Number of stories currently held.
    public var storyCount: Int { stories.count }

    /// Decides what to do with `event`, updating the index. `now` is the processing time (the window clock).
    public mutating func process(event: NewsEvent, enrichment: Enrichment, idempotencyKey: String? = nil, now: Date) -> DedupDecision {
        prune(now: now)
        if let key = idempotencyKey, let original = eventIdByIdempotencyKey[key] {
            return .duplicate(.idempotent, of: original)
        }
        let fingerprint = StoryFingerprint(enrichment: enrichment)
        if let earlier = seen[event.id] {
            guard event.status == .canceled, earlier.status != .canceled, let storyId = earlier.storyId, stories[storyId] != nil else {
                return .duplicate(.idempotent, of: earlier.eventId)
            }
            let because = "kill of \(event.id), which joined \(storyId)"
            return join(storyId, event: event, key: idempotencyKey, fingerprint: fingerprint, relation: .kill, supersedes: event.id, similarity: 1, because: because, now: now)
        }
        if event.supersedes != nil || event.status == .canceled {
            return supersede(event: event, key: idempotencyKey, fingerprint: fingerprint, now: now)
        }
        if let override = event.storyOverride, let decision = follow(override, event: event, key: idempotencyKey, fingerprint: fingerprint, now: now) {
            return decision
        }
        if let original = exactDuplicate(of: fingerprint, now: now) {
            remember(SeenEvent(eventId: event.id, idempotencyKey: idempotencyKey, storyId: original.storyId, status: event.status, seenAt: now, duplicateOf: original.eventId))
            return .duplicate(.exact, of: original.eventId)
        }
        if let match = bestStory(for: fingerprint, now: now) {
            return join(match.storyId, event: event, key: idempotencyKey, fingerprint: fingerprint, relation: .update, similarity: match.similarity, because: match.because, now: now)
        }
        return startStory(event: event, key: idempotencyKey, fingerprint: fingerprint, relation: .new, because: "no recent story close enough", now: now)
    }

    /// What `process` would decide for `event`, leaving the index as it is (the newsroom's preview).
    public func preview(event: NewsEvent, enrichment: Enrichment, now: Date) -> DedupDecision {
        var copy = self
        return copy.process(event: event, enrichment: enrichment, now: now)
    }

    /// A story of the index, nil when it is unknown or was pruned.
    public func story(_ storyId: String) -> StoryRecord? {
        stories[storyId]
    }

    // MARK: - Decisions

    /// The editor's decision: a new story, or an update of a story still in the index. An update of a story
    /// that is unknown or past retention returns nil, and the event is threaded as usual.
    private mutating func follow(_ override: StoryOverride, event: NewsEvent, key: String?, fingerprint: StoryFingerprint, now: Date) -> DedupDecision? {
        switch override {
        case .newStory:
            return startStory(event: event, key: key, fingerprint: fingerprint, relation: .new, because: "the newsroom asked for a new story", now: now)
        case .updateOf(let storyId):
            guard let story = stories[storyId] else { return nil }
            let similarity = story.members.map { StorySimilarity.compare($0.fingerprint, fingerprint, configuration: configuration).score }.max() ?? 0
            let because = String(format: "the newsroom made it an update of %@ (similarity %.2f)", storyId, similarity)
            return join(storyId, event: event, key: key, fingerprint: fingerprint, relation: .update, similarity: similarity, because: because, now: now)
        }
    }

    private mutating func supersede(event: NewsEvent, key: String?, fingerprint: StoryFingerprint, now: Date) -> DedupDecision {
        let relation: StoryRelation = event.status == .canceled ? .kill : .correction
        if let target = event.supersedes, let storyId = seen[target]?.storyId, stories[storyId] != nil {
            let because = "\(relation.rawValue) of \(target), which joined \(storyId)"
            return join(storyId, event: event, key: key, fingerprint: fingerprint, relation: relation, supersedes: target, similarity: 1, because: because, now: now)
        }
        if event.supersedes == nil, let match = bestStory(for: fingerprint, now: now) {
            return join(match.storyId, event: event, key: key, fingerprint: fingerprint, relation: relation, similarity: match.similarity, because: "kill without supersedes; " + match.because, now: now)
        }
        let because = event.supersedes.map { "\(relation.rawValue) of \($0), which is unknown or past retention" } ?? "kill matching no recent story"
        return startStory(event: event, key: key, fingerprint: fingerprint, relation: relation, because: because, now: now)
    }

    private mutating func startStory(event: NewsEvent, key: String?, fingerprint: StoryFingerprint, relation: StoryRelation, because: String, now: Date) -> DedupDecision {
        let storyId = "story-" + event.id
        var story = StoryRecord(storyId: storyId, firstEventId: event.id, createdAt: now)
        story.append(eventId: event.id, fingerprint: fingerprint, at: now, limit: configuration.maxComparedItemsPerStory)
        story.killed = relation == .kill
        stories[storyId] = story
        remember(SeenEvent(eventId: event.id, idempotencyKey: key, storyId: storyId, status: event.status, seenAt: now))
        let assignment = StoryAssignment(
            storyId: storyId, sequence: 1, updateOf: nil, relation: relation, supersedes: event.supersedes, similarity: 1,
            addsInformation: true, newInformation: [], because: because
        )
        return .accepted(assignment)
    }

    private mutating func join(
        _ storyId: String, event: NewsEvent, key: String?, fingerprint: StoryFingerprint, relation: StoryRelation,
        supersedes: String? = nil, similarity: Double, because: String, now: Date
    ) -> DedupDecision {
        guard var story = stories[storyId] else {
            return startStory(event: event, key: key, fingerprint: fingerprint, relation: relation, because: because, now: now)
        }
        let newInformation = story.newInformation(in: fingerprint, newWordingFraction: configuration.newWordingFraction)
        let previous = story.lastEventId
        story.append(eventId: event.id, fingerprint: fingerprint, at: now, limit: configuration.maxComparedItemsPerStory)
        if relation == .kill { story.killed = true }
        stories[storyId] = story
        remember(SeenEvent(eventId: event.id, idempotencyKey: key, storyId: storyId, status: event.status, seenAt: now))
        let assignment = StoryAssignment(
            storyId: storyId, sequence: story.sequence, updateOf: previous, relation: relation, supersedes: supersedes ?? event.supersedes,
            similarity: similarity, addsInformation: !newInformation.isEmpty, newInformation: newInformation, because: because
        )
        return .accepted(assignment)
    }

    // MARK: - Matching

    /// A recent item with the same exact key, if any.
    private func exactDuplicate(of fingerprint: StoryFingerprint, now: Date) -> (eventId: String, storyId: String)? {
        for story in recentStories(now: now) {
            if let member = story.members.last(where: { $0.fingerprint.exactKey == fingerprint.exactKey && isRecent($0.at, now: now) }) {
                return (member.eventId, story.storyId)
            }
        }
        return nil
    }

    /// The recent story `fingerprint` belongs to, if any: highest similarity, then most recently updated.
    private func bestStory(for fingerprint: StoryFingerprint, now: Date) -> (storyId: String, similarity: Double, because: String)? {
        var best: (storyId: String, similarity: Double, rank: Double, updatedAt: Date, because: String)?
        for story in recentStories(now: now) {
            guard let candidate = closestMember(of: story, to: fingerprint, now: now) else { continue }
            let isBetter = best.map { (candidate.rank, story.updatedAt) > ($0.rank, $0.updatedAt) } ?? true
            if isBetter { best = (story.storyId, candidate.similarity, candidate.rank, story.updatedAt, candidate.because) }
        }
        return best.map { ($0.storyId, $0.similarity, $0.because) }
    }

    /// The member of `story` that qualifies `fingerprint` to join it, with its similarity and a ranking score.
    private func closestMember(of story: StoryRecord, to fingerprint: StoryFingerprint, now: Date) -> (similarity: Double, rank: Double, because: String)? {
        var best: (similarity: Double, rank: Double, because: String)?
        for member in story.members where isRecent(member.at, now: now) {
            let similarity = StorySimilarity.compare(member.fingerprint, fingerprint, configuration: configuration)
            guard similarity.blockedBy == nil else { continue }
            var because: String?
            var rank = similarity.score
            if similarity.score >= configuration.joinThreshold {
                let places = similarity.sharedPlaces.isEmpty ? "" : ", shared place \(similarity.sharedPlaces.joined(separator: ", "))"
                because = String(format: "similarity %.2f to %@ (text %.2f%@) ≥ %.2f", similarity.score, member.eventId, similarity.textScore, places, configuration.joinThreshold)
            } else if let speaker = fingerprint.speaker, member.fingerprint.speaker == speaker,
                      abs(now.timeIntervalSince(member.at)) <= configuration.quoteBurstWindow {
                because = "same speaker '\(speaker)' as \(member.eventId) within \(Int(configuration.quoteBurstWindow / 60)) minutes: one statement"
                rank = configuration.joinThreshold
            }
            if let because, rank > (best?.rank ?? -1) { best = (similarity.score, rank, because) }
        }
        return best
    }

    private func recentStories(now: Date) -> [StoryRecord] {
        stories.values.filter { isRecent($0.updatedAt, now: now) }.sorted { $0.storyId < $1.storyId }
    }

    private func isRecent(_ date: Date, now: Date) -> Bool {
        now.timeIntervalSince(date) <= configuration.matchWindow
    }

    // MARK: - State

    private mutating func remember(_ event: SeenEvent) {
        seen[event.eventId] = event
        if let key = event.idempotencyKey { eventIdByIdempotencyKey[key] = event.eventId }
    }

    /// Drops stories not updated, and event ids not seen, within `retention` before `now`.
    private mutating func prune(now: Date) {
        let cutoff = now.addingTimeInterval(-configuration.retention)
        stories = stories.filter { $0.value.updatedAt >= cutoff }
        let expired = seen.values.filter { $0.seenAt < cutoff }
        for event in expired {
            seen[event.eventId] = nil
            if let key = event.idempotencyKey { eventIdByIdempotencyKey[key] = nil }
        }
    }
}
