import Foundation
import GRDB
import NewsAlertCore

/// newsalert's SQLite database: owns the connection pool and migrates the schema on open.
///
/// Constraints (keys, uniqueness, checks) live in the schema, so no code path can break them.
public struct AppDatabase: Sendable {
    let writer: any DatabaseWriter

    /// Opens (creating if needed) `directory/newsalert.sqlite` in WAL mode and migrates it.
    public static func open(directory: String) throws -> AppDatabase {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // WAL + NORMAL survives process crashes; Kafka, not this file, is the record of what was published.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let pool = try DatabasePool(path: (directory as NSString).appendingPathComponent("newsalert.sqlite"), configuration: configuration)
        return try AppDatabase(pool)
    }

    /// An in-memory database, for tests.
    public static func inMemory() throws -> AppDatabase {
        try AppDatabase(DatabaseQueue())
    }

    init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: api keys, idempotency, event log") { db in
            try db.create(table: "api_key") { table in
                table.column("id", .text).primaryKey()
                table.column("role", .text).notNull().check(sql: "role IN ('editor', 'admin')")
                table.column("secret_hash", .text).notNull().unique()
                table.column("label", .text)
                table.column("created_at", .datetime).notNull()
                table.column("revoked_at", .datetime)
            }
            try db.create(table: "idempotency_record") { table in
                table.column("api_key_id", .text).notNull().references("api_key", onDelete: .cascade)
                table.column("key", .text).notNull()
                table.column("request_hash", .text).notNull()
                table.column("state", .text).notNull().check(sql: "state IN ('pending', 'done')")
                table.column("response_status", .integer)
                table.column("response_body", .blob)
                table.column("created_at", .datetime).notNull()
                table.primaryKey(["api_key_id", "key"])
            }
            try db.create(table: "news_event") { table in
                table.column("id", .text).primaryKey()
                table.column("payload", .blob).notNull()
                table.column("kind", .text).notNull()
                table.column("status", .text).notNull().check(sql: "status IN ('usable', 'withheld', 'canceled')")
                table.column("supersedes", .text).indexed()
                table.column("topic", .text).notNull()
                table.column("partition", .integer).notNull()
                table.column("offset", .integer).notNull()
                table.column("received_at", .datetime).notNull().indexed()
                table.column("api_key_id", .text)
                table.column("story_id", .text)
                table.column("enrichment", .blob)
                table.column("alerts_delivered", .integer).notNull().defaults(to: 0)
                table.uniqueKey(["topic", "partition", "offset"])
            }
        }
        migrator.registerMigration("v2: enrich state and dedup outcomes") { db in
            // One row: the story index of the enrich stage, replaced after each accepted event.
            try db.create(table: "story_index") { table in
                table.column("id", .integer).primaryKey().check(sql: "id = 1")
                table.column("snapshot", .blob).notNull()
                table.column("updated_at", .datetime).notNull()
            }
            try db.alter(table: "news_event") { table in
                table.add(column: "dedup_outcome", .text)
            }
        }
        migrator.registerMigration("v3: subscribers, channels, subscriptions, changelog outbox") { db in
            try db.create(table: "subscriber") { table in
                table.column("id", .text).primaryKey()
                table.column("name", .text).notNull().check(sql: "length(name) BETWEEN 0 AND 200")
                table.column("time_zone", .text).notNull()
                table.column("status", .text).notNull().check(sql: "status IN ('active', 'disabled')")
                table.column("budget", .blob).notNull()
                table.column("version", .integer).notNull().check(sql: "version >= 0")
                table.column("changed_at", .datetime).notNull()
            }
            try db.create(table: "subscriber_token") { table in
                table.column("id", .text).primaryKey()
                table.column("subscriber_id", .text).notNull().indexed().references("subscriber", onDelete: .cascade)
                table.column("secret_hash", .text).notNull().unique()
                table.column("created_at", .datetime).notNull()
                table.column("revoked_at", .datetime)
            }
            try db.create(table: "channel") { table in
                table.column("id", .text).primaryKey()
                table.column("subscriber_id", .text).notNull().indexed().references("subscriber", onDelete: .cascade)
                table.column("kind", .text).notNull().check(sql: "kind IN ('webhook', 'email', 'ticker')")
                table.column("target", .text).notNull()
                table.column("secrets", .blob).notNull()
                table.column("status", .text).notNull().check(sql: "status IN ('active', 'disabled')")
                table.column("disabled_reason", .text)
                table.column("version", .integer).notNull().check(sql: "version >= 1")
                table.column("changed_at", .datetime).notNull()
                table.uniqueKey(["subscriber_id", "kind", "target"])
            }
            try db.create(table: "subscription") { table in
                table.column("id", .text).primaryKey()
                table.column("subscriber_id", .text).notNull().indexed().references("subscriber", onDelete: .cascade)
                table.column("name", .text)
                table.column("rule", .blob).notNull()
                table.column("status", .text).notNull().check(sql: "status IN ('active', 'disabled')")
                table.column("version", .integer).notNull().check(sql: "version >= 1")
                table.column("changed_at", .datetime).notNull()
            }
            // Changes written with the entity in one transaction, then published to subscriptions.changelog.
            try db.create(table: "changelog_outbox") { table in
                table.autoIncrementedPrimaryKey("seq")
                table.column("key", .text).notNull()
                table.column("value", .blob)
            }
            // The latest enriched events fan-out saw, for rule previews.
            try db.create(table: "recent_enriched") { table in
                table.column("event_id", .text).primaryKey()
                table.column("payload", .blob).notNull()
                table.column("enriched_at", .datetime).notNull().indexed()
            }
        }
        migrator.registerMigration("v4: delivery log") { db in
            // What each subscriber got of each story, per channel: for updates and retractions.
            try db.create(table: "story_delivery") { table in
                table.column("story_id", .text).notNull()
                table.column("channel_id", .text).notNull()
                table.column("subscriber_id", .text).notNull()
                table.column("channel", .text).notNull()
                table.column("last_event_id", .text).notNull()
                table.primaryKey(["story_id", "channel_id"])
            }
            try db.create(table: "delivery") { table in
                table.column("id", .text).primaryKey()
                table.column("subscriber_id", .text).notNull()
                table.column("channel_id", .text).notNull()
                table.column("channel", .text).notNull().check(sql: "channel IN ('webhook', 'email', 'ticker')")
                table.column("target", .text)
                table.column("event_id", .text).notNull().indexed()
                table.column("story_id", .text).notNull().indexed()
                table.column("type", .text).notNull()
                table.column("state", .text).notNull()
                    .check(sql: "state IN ('held', 'queued', 'retrying', 'sending', 'delivered', 'failed', 'dropped', 'canceled', 'dead')")
                table.column("reason", .text)
                table.column("payload", .blob).notNull()
                table.column("deliver_after", .datetime)
                table.column("next_attempt_at", .datetime)
                table.column("attempts", .integer).notNull().defaults(to: 0)
                table.column("source_partition", .integer)
                table.column("source_offset", .integer)
                table.column("created_at", .datetime).notNull()
                table.column("updated_at", .datetime).notNull()
            }
            try db.create(index: "delivery_by_subscriber", on: "delivery", columns: ["subscriber_id", "created_at"])
            try db.create(index: "delivery_by_state", on: "delivery", columns: ["state", "next_attempt_at"])
            try db.create(index: "delivery_by_channel", on: "delivery", columns: ["channel_id", "state"])
            try db.create(table: "delivery_attempt") { table in
                table.column("delivery_id", .text).notNull().references("delivery", onDelete: .cascade)
                table.column("attempt", .integer).notNull()
                table.column("at", .datetime).notNull()
                table.column("outcome", .text).notNull()
                table.column("status_code", .integer)
                table.column("detail", .text)
                table.column("duration_ms", .double)
                table.primaryKey(["delivery_id", "attempt"])
            }
        }
        migrator.registerMigration("v5: installation secret") { db in
            // One row: a random key this installation signs unsubscribe links with (unless configured).
            try db.create(table: "installation") { table in
                table.column("id", .integer).primaryKey().check(sql: "id = 1")
                table.column("link_key", .blob).notNull()
            }
        }
        migrator.registerMigration("v6: deleted entities") { db in
            // Ids are never reused: a deleted channel or subscription stays deleted even if an older record of it
            // is replayed from the changelog afterwards.
            try db.create(table: "deleted_entity") { table in
                table.column("id", .text).primaryKey()
            }
        }
        migrator.registerMigration("v7: event positions are not unique across Kafka logs") { db in
            // A Kafka position names a record only within one log: a restarted embedded broker, or a topic
            // deleted and created again, counts offsets from 0 while this file remembers the old events.
            // The event id stays the key; the position is where the event was stored when it was published.
            try db.create(table: "news_event_v7") { table in
                table.column("id", .text).primaryKey()
                table.column("payload", .blob).notNull()
                table.column("kind", .text).notNull()
                table.column("status", .text).notNull().check(sql: "status IN ('usable', 'withheld', 'canceled')")
                table.column("supersedes", .text)
                table.column("topic", .text).notNull()
                table.column("partition", .integer).notNull()
                table.column("offset", .integer).notNull()
                table.column("received_at", .datetime).notNull()
                table.column("api_key_id", .text)
                table.column("story_id", .text)
                table.column("enrichment", .blob)
                table.column("alerts_delivered", .integer).notNull().defaults(to: 0)
                table.column("dedup_outcome", .text)
            }
            try db.execute(sql: """
                INSERT INTO news_event_v7 (id, payload, kind, status, supersedes, topic, partition, "offset", received_at,
                                           api_key_id, story_id, enrichment, alerts_delivered, dedup_outcome)
                SELECT id, payload, kind, status, supersedes, topic, partition, "offset", received_at,
                       api_key_id, story_id, enrichment, alerts_delivered, dedup_outcome FROM news_event
                """)
            try db.drop(table: "news_event")
            try db.rename(table: "news_event_v7", to: "news_event")
            try db.create(index: "news_event_on_supersedes", on: "news_event", columns: ["supersedes"])
            try db.create(index: "news_event_on_received_at", on: "news_event", columns: ["received_at"])
            try db.create(index: "news_event_on_position", on: "news_event", columns: ["topic", "partition", "offset"])
        }
        migrator.registerMigration("v8: the cluster the changelog was published to") { db in
            try db.create(table: "changelog_cluster") { table in
                table.column("id", .integer).primaryKey().check(sql: "id = 1")
                table.column("cluster_id", .text).notNull()
            }
        }
        migrator.registerMigration("v9: delivery reports") { db in
            // Every change of a delivery (its row or a new attempt) queues its id for `deliveries.log`, so the
            // nodes that did not make the delivery can show it too.
            try db.create(table: "delivery_report_outbox") { table in
                table.autoIncrementedPrimaryKey("seq")
                table.column("delivery_id", .text).notNull()
            }
            try db.execute(sql: """
                CREATE TRIGGER delivery_report_on_insert AFTER INSERT ON delivery
                BEGIN INSERT INTO delivery_report_outbox (delivery_id) VALUES (NEW.id); END;
                CREATE TRIGGER delivery_report_on_update AFTER UPDATE ON delivery
                BEGIN INSERT INTO delivery_report_outbox (delivery_id) VALUES (NEW.id); END;
                CREATE TRIGGER delivery_report_on_attempt AFTER INSERT ON delivery_attempt
                BEGIN INSERT INTO delivery_report_outbox (delivery_id) VALUES (NEW.delivery_id); END;
                """)
            // Deliveries other nodes made, as they reported them (the newest report of each).
            try db.create(table: "delivery_report") { table in
                table.column("id", .text).primaryKey()
                table.column("subscriber_id", .text).notNull()
                table.column("event_id", .text).notNull().indexed()
                table.column("created_at", .datetime).notNull()
                table.column("updated_at", .datetime).notNull()
                table.column("record", .blob).notNull()
            }
            try db.create(index: "delivery_report_by_subscriber", on: "delivery_report", columns: ["subscriber_id", "created_at"])
        }
        migrator.registerMigration("v10: the event a pending idempotency claim publishes") { db in
            try db.alter(table: "idempotency_record") { table in
                table.add(column: "event_id", .text)
                table.add(column: "event_received_at", .integer)  // milliseconds since 1970
            }
        }
        migrator.registerMigration("v11: alert counts from the delivery log") { db in
            // What an API node shows of an event's alerts is read from the deliveries it knows: its own and those
            // other nodes reported on deliveries.log. The reports get their state and channel as columns so the
            // counts are one indexed query; `news_event.alerts_delivered` is no longer written or read.
            try db.alter(table: "delivery_report") { table in
                table.add(column: "channel", .text).notNull().defaults(to: "")
                table.add(column: "state", .text).notNull().defaults(to: "")
            }
            try db.execute(sql: """
                UPDATE delivery_report SET channel = COALESCE(json_extract(record, '$.channel'), ''), state = COALESCE(json_extract(record, '$.state'), '')
                """)
            try db.create(index: "delivery_report_by_event_state", on: "delivery_report", columns: ["event_id", "state"])
            try db.create(index: "delivery_by_event_state", on: "delivery", columns: ["event_id", "state"])
        }
        migrator.registerMigration("v12: stage journals for restarts on an empty embedded log") { db in
            // What each stage finished, written by that stage alone once its output was acknowledged: enrich keeps
            // the enriched record it published (none for a dropped duplicate), fan-out the events it planned. On a
            // start against an empty embedded log, what the event log accepted and a journal does not show as
            // finished is put back on the topics.
            try db.create(table: "enrich_journal") { table in
                table.column("event_id", .text).primaryKey()
                table.column("story_id", .text)
                table.column("record", .blob)
                table.column("at", .datetime).notNull().indexed()
            }
            try db.create(table: "fanout_journal") { table in
                table.column("event_id", .text).primaryKey()
                table.column("at", .datetime).notNull().indexed()
            }
            // Events an earlier version processed count as finished: it kept no record to put back.
            try db.execute(sql: """
                INSERT INTO enrich_journal (event_id, story_id, at) SELECT id, story_id, received_at FROM news_event WHERE dedup_outcome IS NOT NULL;
                INSERT INTO fanout_journal (event_id, at) SELECT id, received_at FROM news_event WHERE enrichment IS NOT NULL;
                """)
        }
        migrator.registerMigration("v13: held events (FLASH approval, embargo) and key display names") { db in
            try db.alter(table: "api_key") { table in
                table.add(column: "display_name", .text)
            }
            // An event accepted but not yet on news.events: waiting for a second editor, or for its publish time.
            try db.create(table: "held_event") { table in
                table.column("id", .text).primaryKey()
                table.column("payload", .blob).notNull()
                table.column("headline", .text).notNull()
                table.column("state", .text).notNull()
                    .check(sql: "state IN ('pending_approval', 'scheduled', 'published', 'rejected', 'expired', 'canceled')")
                table.column("requested_by", .text).notNull()
                table.column("requested_at", .datetime).notNull()
                table.column("expires_at", .datetime)
                table.column("publish_at", .datetime)
                table.column("decided_by", .text)
                table.column("decided_at", .datetime)
                table.column("decision", .text).check(sql: "decision IS NULL OR decision IN ('approved', 'rejected', 'expired', 'canceled')")
                table.column("note", .text)
                table.column("published_at", .datetime)
                table.check(sql: "state != 'pending_approval' OR expires_at IS NOT NULL")
                table.check(sql: "state != 'scheduled' OR publish_at IS NOT NULL")
            }
            try db.create(index: "held_event_by_state", on: "held_event", columns: ["state", "publish_at"])
        }
        migrator.registerMigration("v14: the event log by story, for story timelines") { db in
            try db.create(index: "news_event_by_story", on: "news_event", columns: ["story_id", "received_at"])
        }
        migrator.registerMigration("v15: subscribers' external ids for bulk imports") { db in
            // The newsroom's own key of a subscriber, kept by the subscription API (not replicated). The import that
            // last wrote it, and on which line, tells a duplicate external_id within one import file.
            try db.create(table: "subscriber_external_id") { table in
                table.column("external_id", .text).primaryKey()
                table.column("subscriber_id", .text).notNull().unique().references("subscriber", onDelete: .cascade)
                table.column("import_id", .text)
                table.column("import_line", .integer)
            }
        }
        migrator.registerMigration("v16: double opt-in for email channels") { db in
            try db.alter(table: "channel") { table in
                table.add(column: "confirmed_at", .datetime)
                table.add(column: "consent_source", .text)
            }
            // Addresses added before confirmation existed keep getting alerts; their records say so, and go on the
            // changelog again so that a node replaying it from the start sees the same.
            try db.execute(sql: """
                UPDATE channel SET confirmed_at = changed_at, consent_source = 'added before double opt-in', version = version + 1
                WHERE kind = 'email' AND version >= 1
                """)
            try Self.requeueEmailChannels(db)
            // The confirmation mails this node owes, one per channel waiting for its owner.
            try db.create(table: "email_confirmation") { table in
                table.column("channel_id", .text).primaryKey().references("channel", onDelete: .cascade)
                table.column("address", .text).notNull()
                table.column("created_at", .datetime).notNull().indexed()
                table.column("state", .text).notNull().check(sql: "state IN ('queued', 'sent', 'failed', 'suppressed')")
                table.column("due_at", .datetime).notNull()
                table.column("attempts", .integer).notNull().defaults(to: 0)
                table.column("last_error", .text)
            }
            try db.create(index: "email_confirmation_due", on: "email_confirmation", columns: ["state", "due_at"])
            // When a confirmation mail to an address (lowercased) was last queued: at most one an hour.
            try db.create(table: "confirmation_rate") { table in
                table.column("address", .text).primaryKey()
                table.column("last_queued_at", .datetime).notNull()
            }
        }
        migrator.registerMigration("v17: readers who signed up themselves") { db in
            // A subscriber made by the public signup, found by its address (lowercased) when the reader comes back.
            try db.create(table: "reader_signup") { table in
                table.column("subscriber_id", .text).primaryKey().references("subscriber", onDelete: .cascade)
                table.column("email", .text).notNull().unique()
                table.column("created_at", .datetime).notNull()
            }
            // A subscriber who paused alerts from the preference centre, and until when (disabled meanwhile).
            try db.create(table: "subscriber_pause") { table in
                table.column("subscriber_id", .text).primaryKey().references("subscriber", onDelete: .cascade)
                table.column("until", .datetime).notNull()
            }
        }
        migrator.registerMigration("v21: the story index a row per story and seen event, saved incrementally") { db in
            try db.create(table: "story_index_story") { table in
                table.column("story_id", .text).primaryKey()
                table.column("record", .blob).notNull()
            }
            try db.create(table: "story_index_seen") { table in
                table.column("event_id", .text).primaryKey()
                table.column("record", .blob).notNull()
            }
            // The whole-index blob of earlier versions becomes rows; the row of `story_index` keeps only the time.
            if let blob = try Data.fetchOne(db, sql: "SELECT snapshot FROM story_index WHERE id = 1") {
                let snapshot = try JSONDecoder.newsAlert.decode(StoryIndexSnapshot.self, from: blob)
                let encoder = JSONEncoder.newsAlert
                for story in snapshot.stories {
                    try db.execute(sql: "INSERT INTO story_index_story (story_id, record) VALUES (?, ?)", arguments: [story.storyId, try encoder.encode(story)])
                }
                for event in snapshot.seen {
                    try db.execute(sql: "INSERT OR REPLACE INTO story_index_seen (event_id, record) VALUES (?, ?)", arguments: [event.eventId, try encoder.encode(event)])
                }
                try db.execute(sql: "UPDATE story_index SET snapshot = X'' WHERE id = 1")
            }
        }
        return migrator
    }
}
