import GRDB
import NIOConcurrencyHelpers

/// A doorbell rung by every committed transaction of this process that changed one of some tables.
public final class TableChanges: Sendable {
    public let doorbell = Doorbell()
    private let observation = NIOLockedValueBox<AnyDatabaseCancellable?>(nil)

    init(writer: any DatabaseWriter, tables: [String]) {
        let doorbell = self.doorbell
        let cancellable = DatabaseRegionObservation(tracking: tables.map { Table($0) })
            .start(in: writer, onError: { _ in doorbell.ring() }, onChange: { _ in doorbell.ring() })
        observation.withLockedValue { $0 = cancellable }
    }

    /// Returns once one of the tables changed (at once if one did since the last wait), or after `timeout`.
    public func wait(upTo timeout: Duration) async {
        await doorbell.wait(upTo: timeout)
    }

    deinit {
        observation.withLockedValue { $0?.cancel() }
    }
}

extension AppDatabase {
    /// Rings whenever a transaction of this process changes one of `tables`: loops wait on it instead of polling.
    public func changes(of tables: String...) -> TableChanges {
        TableChanges(writer: writer, tables: tables)
    }
}
