import Foundation
import NewsAlertCore
import NewsAlertStore

/// What a preview reads besides the database: the enricher and threading settings the enrich stage uses,
/// the node's subscription catalog and its live ticker.
public struct EventPreviewSources: Sendable {
    public var enricher: Enricher
    public var threader: StoryThreaderConfiguration
    /// The node's current subscriptions (its replica's catalog).
    public var catalog: @Sendable () async throws -> SubscriptionCatalog
    /// Browsers and apps connected to this node's ticker.
    public var tickerReaders: @Sendable () -> Int

    public init(
        enricher: Enricher, threader: StoryThreaderConfiguration,
        catalog: @escaping @Sendable () async throws -> SubscriptionCatalog, tickerReaders: @escaping @Sendable () -> Int
    ) {
        self.enricher = enricher
        self.threader = threader
        self.catalog = catalog
        self.tickerReaders = tickerReaders
    }

    /// Sources read from `database` alone: its subscriptions, loaded at each preview.
    public static func reading(_ database: AppDatabase, gazetteer: Gazetteer, tickerReaders: @escaping @Sendable () -> Int = { 0 }) -> EventPreviewSources {
        EventPreviewSources(enricher: Enricher(gazetteer: gazetteer), threader: StoryThreaderConfiguration(), catalog: {
            var catalog = SubscriptionCatalog()
            for change in try await database.snapshot() { catalog.apply(change) }
            return catalog
        }, tickerReaders: tickerReaders)
    }
}
