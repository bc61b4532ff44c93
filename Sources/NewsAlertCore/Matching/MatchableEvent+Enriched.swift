extension MatchableEvent {
    /// The facts of an event on `news.enriched` that rules look at: the enriched section, regions, countries and
    /// urgency, the newsroom's tags, entity names, and the analysed text.
    public init(_ enriched: EnrichedEvent) {
        let enrichment = enriched.enrichment
        self.init(
            eventID: enriched.event.id, storyID: enriched.story.storyId, kind: enriched.event.kind,
            sections: [enrichment.section], regions: enrichment.regions, countries: enrichment.countries,
            tags: enriched.event.tags, entities: Array(Set(enrichment.entities.flatMap { [$0.name, $0.canonical].compactMap { $0 } })).sorted(), urgency: enrichment.urgency,
            text: enrichment.text)
    }
}
