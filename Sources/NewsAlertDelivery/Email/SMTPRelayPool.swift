import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// A small pool of SMTP connections to one relay.
///
/// At most `maximumConnections` are open at once; further senders wait for one to come back.
/// Idle connections are reused (after RSET); broken, expired or over-used ones are closed and
/// replaced. A reused connection that turns out to be dead before the transaction starts is
/// replaced transparently, so a relay's idle timeout never fails a message.
public actor SMTPRelayPool {
    /// Counters for monitoring.
    public struct Statistics: Sendable, Hashable {
        /// Connections opened since the pool was created.
        public var connectionsOpened: Int
        /// Connections open now (idle or in use).
        public var connectionsOpen: Int
        /// Connections open and idle now.
        public var connectionsIdle: Int
        /// Senders waiting for a connection now.
        public var waitingSenders: Int
    }

    /// The relay.
    public nonisolated let configuration: SMTPRelayConfiguration
    /// The most connections open at once.
    public nonisolated let maximumConnections: Int

    private let eventLoopGroup: any EventLoopGroup
    private let sslContext: NIOSSLContext?
    private let logger: Logger

    private struct IdleConnection {
        let connection: SMTPConnection
        let since: ContinuousClock.Instant
    }

    private enum Grant {
        case connection(SMTPConnection)
        case openNew
    }

    private var idle: [IdleConnection] = []
    private var openCount = 0
    private var openedCount = 0
    /// Senders waiting for a connection, in arrival order: behind a lock rather than in the actor, so a cancelled
    /// sender leaves the line synchronously from its cancellation handler.
    private nonisolated let waiting = NIOLockedValueBox(WaitingSenders())
    private var isShutDown = false

    private struct WaitingSenders {
        var line: [(id: Int, continuation: CheckedContinuation<Grant, any Error>)] = []
        var nextID = 0
        /// Senders cancelled before they joined the line (their handler ran first): they must not join it.
        var cancelledEarly: Set<Int> = []

        /// The first sender in line, taken out of it.
        mutating func next() -> CheckedContinuation<Grant, any Error>? {
            line.isEmpty ? nil : line.removeFirst().continuation
        }
    }

    /// Creates a pool. No connection is opened until the first send.
    ///
    /// - Throws: ``SMTPError`` with kind ``SMTPError/Kind/tlsFailed`` when the TLS configuration is invalid.
    public init(
        configuration: SMTPRelayConfiguration,
        maximumConnections: Int = 2,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "newsalert.smtp")
    ) throws {
        precondition(maximumConnections > 0, "an SMTP pool needs at least one connection")
        self.configuration = configuration
        self.maximumConnections = maximumConnections
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        if configuration.tls == .none {
            self.sslContext = nil
        } else {
            do {
                self.sslContext = try NIOSSLContext(configuration: configuration.tlsConfiguration)
            } catch {
                throw SMTPError(kind: .tlsFailed, detail: "invalid TLS configuration: \(error)")
            }
        }
    }

    /// Current counters.
    public var statistics: Statistics {
        Statistics(
            connectionsOpened: openedCount, connectionsOpen: openCount,
            connectionsIdle: idle.count, waitingSenders: waiting.withLockedValue { $0.line.count })
    }

    /// Composes and delivers `message` over a pooled connection.
    ///
    /// - Returns: The relay's acceptance, including its final reply (often with a queue id).
    /// - Throws: ``SMTPError``; check ``SMTPError/isTransient`` to decide between retrying and recording a failure.
    public nonisolated func send(_ message: MailMessage, composer: MIMEComposer = MIMEComposer()) async throws
        -> SMTPDeliveryReceipt
    {
        let bytes = try composer.composeForSending(message)
        return try await send(rawMessage: bytes, from: message.envelopeFrom, to: message.envelopeRecipients)
    }

    /// Delivers an already composed RFC 5322 message over a pooled connection.
    ///
    /// - Throws: ``SMTPError``.
    public nonisolated func send(rawMessage: [UInt8], from sender: EmailAddress, to recipients: [EmailAddress])
        async throws -> SMTPDeliveryReceipt
    {
        // A reused connection may have died while idle; give each message a few chances at a live one.
        var staleConnections = 0
        while true {
            let (connection, reused) = try await acquire()
            if reused {
                do {
                    try await connection.reset()
                } catch {
                    await release(connection)
                    staleConnections += 1
                    if staleConnections <= maximumConnections { continue }
                    throw error
                }
            }
            do {
                let receipt = try await connection.send(rawMessage: rawMessage, from: sender, to: recipients)
                await release(connection)
                return receipt
            } catch {
                await release(connection)
                throw error
            }
        }
    }

    /// Closes every idle connection, fails waiting senders with ``SMTPError/Kind/poolShutDown``,
    /// and closes busy connections as they come back. Later sends fail.
    public func shutdown() async {
        isShutDown = true
        let waiters = waiting.withLockedValue { state in
            defer { state.line.removeAll() }
            return state.line
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: SMTPError(kind: .poolShutDown, detail: "the SMTP pool was shut down"))
        }
        let closing = idle
        idle.removeAll()
        openCount -= closing.count
        for entry in closing {
            await entry.connection.close()
        }
    }

    // MARK: Leasing

    private func acquire() async throws -> (SMTPConnection, reused: Bool) {
        guard !isShutDown else {
            throw SMTPError(kind: .poolShutDown, detail: "the SMTP pool was shut down")
        }
        let now = ContinuousClock.now
        while let entry = idle.popLast() {
            if entry.connection.isUsable, now - entry.since < configuration.idleTimeout {
                return (entry.connection, true)
            }
            openCount -= 1
            await entry.connection.close()
        }
        if openCount < maximumConnections {
            openCount += 1
            return (try await openConnection(), false)
        }

        let id = waiting.withLockedValue { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        defer { waiting.withLockedValue { _ = $0.cancelledEarly.remove(id) } }
        let grant = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                let cancelled = waiting.withLockedValue { state in
                    if state.cancelledEarly.contains(id) || Task.isCancelled { return true }
                    state.line.append((id, continuation))
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let waiter = waiting.withLockedValue { state -> CheckedContinuation<Grant, any Error>? in
                guard let index = state.line.firstIndex(where: { $0.id == id }) else {
                    state.cancelledEarly.insert(id)
                    return nil
                }
                return state.line.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
        switch grant {
        case .connection(let connection):
            return (connection, true)
        case .openNew:
            return (try await openConnection(), false)
        }
    }

    /// Opens a connection for a slot already counted in `openCount`.
    private func openConnection() async throws -> SMTPConnection {
        do {
            let connection = try await SMTPConnection.connect(
                configuration: configuration, sslContext: sslContext, eventLoopGroup: eventLoopGroup,
                logger: logger)
            openedCount += 1
            return connection
        } catch {
            slotFreed()
            throw error
        }
    }

    private func release(_ connection: SMTPConnection) async {
        let delivered = await connection.transactionsStarted
        let reusable = !isShutDown && connection.isUsable && delivered < configuration.maximumMessagesPerConnection
        if reusable {
            if let waiter = waiting.withLockedValue({ $0.next() }) {
                waiter.resume(returning: .connection(connection))
            } else {
                idle.append(IdleConnection(connection: connection, since: .now))
            }
            return
        }
        slotFreed()
        await connection.close()
    }

    /// A connection went away: let the first waiter open a new one in its place.
    private func slotFreed() {
        if !isShutDown, let waiter = waiting.withLockedValue({ $0.next() }) {
            waiter.resume(returning: .openNew)
        } else {
            openCount -= 1
        }
    }
}
