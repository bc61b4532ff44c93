import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Testing

import NewsAlertDelivery

/// Deliveries to a real endpoint: the Python receiver, which verifies every signature with the
/// Standard Webhooks reference library (`standardwebhooks`).
@Suite("Webhook sender against the reference receiver", .timeLimit(.minutes(1)))
struct WebhookSenderTests {
    @Test("every delivery verifies with the current and, during rotation, the previous secret")
    func signaturesVerifyInReferenceLibrary() async throws {
        let current = WebhookSecret.generate()
        let previous = WebhookSecret.generate(byteCount: 24)
        let signer = WebhookSigner(current: current, previous: [previous])
        try await withReceiver(secrets: [current, previous]) { receiver in
            try await withSender(policy: localReceiverPolicy) { sender in
                var sent: [WebhookRequest] = []
                for index in 0..<3 {
                    let request = makeRequest(to: receiver.url, signer: signer, body: #"{"n":\#(index),"text":"Grüße \u{1F4F0}"}"#)
                    let attempt = await sender.send(request)
                    #expect(attempt.outcome == .delivered, "\(attempt.errorText ?? "")")
                    #expect(attempt.statusCode == 200)
                    #expect(attempt.errorText == nil)
                    #expect(attempt.address == .v4(127, 0, 0, 1))
                    sent.append(request)
                }
                let received = try receiver.requests()
                try #require(received.count == 3)
                for (request, record) in zip(sent, received) {
                    #expect(record.verified == [true, true], "\(record.verifyErrors)")
                    #expect(record.tamperedVerified == [false, false])
                    #expect(record.signatureCount == 2)
                    #expect(record.webhookID == request.messageID)
                    #expect(record.body == String(decoding: request.body, as: UTF8.self))
                    #expect(record.contentType == "application/json")
                }
            }
        }
    }

    @Test("a receiver that knows only the old secret rejects a signer without it (negative control)")
    func missingPreviousSecretFails() async throws {
        let current = WebhookSecret.generate()
        let previous = WebhookSecret.generate()
        try await withReceiver(secrets: [current, previous], responses: ["200"]) { receiver in
            try await withSender(policy: localReceiverPolicy) { sender in
                _ = await sender.send(makeRequest(to: receiver.url, signer: WebhookSigner(current: current)))
                let record = try #require(try receiver.requests().first)
                #expect(record.verified == [true, false])
                #expect(record.verifyErrors[1] == "No matching signature found")
            }
        }
    }

    @Test("a tampered body fails verification in the reference library")
    func tamperedBodyFails() async throws {
        let secret = WebhookSecret.generate()
        try await withReceiver(secrets: [secret]) { receiver in
            let signer = WebhookSigner(current: secret)
            let signed = Data(#"{"amount":1}"#.utf8)
            let headers = signer.headers(id: "msg_tampered", body: signed)
            var request = HTTPClientRequest(url: receiver.url.absoluteString)
            request.method = .POST
            for field in headers.fields { request.headers.add(name: field.name, value: field.value) }
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: #"{"amount":1000}"#))
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
            do {
                _ = try await client.execute(request, timeout: .seconds(10))
                try await client.shutdown()
            } catch {
                try await client.shutdown()
                throw error
            }
            let record = try #require(try receiver.requests().first)
            #expect(record.verified == [false])
            #expect(record.verifyErrors[0] == "No matching signature found")
        }
    }

    @Test("500, 500, then 200: retried failures, then delivered, same message id")
    func serverErrorsThenSuccess() async throws {
        let secret = WebhookSecret.generate()
        try await withReceiver(secrets: [secret], responses: ["500", "503;retry-after=30", "200"]) { receiver in
            try await withSender(policy: localReceiverPolicy) { sender in
                let request = makeRequest(to: receiver.url, signer: WebhookSigner(current: secret))
                let first = await sender.send(request)
                let second = await sender.send(request)
                let third = await sender.send(request)
                #expect(first.outcome == .failed(.serverError(statusCode: 500)))
                #expect(first.statusCode == 500)
                #expect(first.retryAfter == nil)
                #expect(first.errorText == "HTTP 500")
                #expect(first.outcome.shouldRetry)
                #expect(second.outcome == .failed(.serverError(statusCode: 503)))
                #expect(second.retryAfter == .seconds(30))
                #expect(third.outcome == .delivered)
                let records = try receiver.requests()
                #expect(records.map(\.status) == [500, 503, 200])
                #expect(Set(records.map(\.webhookID)) == [request.messageID])
                #expect(records.allSatisfy { $0.verified == [true] })
            }
        }
    }

    @Test("429 reports Retry-After given in seconds or as an HTTP-date")
    func rateLimited() async throws {
        let secret = WebhookSecret.generate()
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE',' dd MMM yyyy HH':'mm':'ss 'GMT'"
        let date = formatter.string(from: Date().addingTimeInterval(3600))
        try await withReceiver(secrets: [secret], responses: ["429;retry-after=7", "429;retry-after=\(date)"]) { receiver in
            try await withSender(policy: localReceiverPolicy) { sender in
                let request = makeRequest(to: receiver.url, signer: WebhookSigner(current: secret))
                let seconds = await sender.send(request)
                #expect(seconds.outcome == .failed(.rateLimited))
                #expect(seconds.statusCode == 429)
                #expect(seconds.retryAfter == .seconds(7))
                let dated = await sender.send(request)
                let wait = try #require(dated.retryAfter)
                #expect(wait > .seconds(3000) && wait <= .seconds(3600))

                var generator = SeededGenerator(seed: 1)
                let next = RetrySchedule().delay(afterAttempt: 1, retryAfter: dated.retryAfter, using: &generator)
                #expect(next == wait)
            }
        }
    }

    @Test("410 means the endpoint is gone")
    func gone() async throws {
        let secret = WebhookSecret.generate()
        try await withReceiver(secrets: [secret], responses: ["410"]) { receiver in
            try await withSender(policy: localReceiverPolicy) { sender in
                let attempt = await sender.send(makeRequest(to: receiver.url, signer: WebhookSigner(current: secret)))
                #expect(attempt.outcome == .endpointGone)
                #expect(!attempt.outcome.shouldRetry)
                #expect(attempt.statusCode == 410)
            }
        }
    }

    @Test("a redirect is not followed and counts as a failure")
    func redirectNotFollowed() async throws {
        let secret = WebhookSecret.generate()
        try await withReceiver(secrets: [secret], responses: ["302;location=/followed", "200"]) { receiver in
            try await withSender(policy: localReceiverPolicy) { sender in
                let attempt = await sender.send(makeRequest(to: receiver.url, signer: WebhookSigner(current: secret)))
                #expect(attempt.outcome == .failed(.redirectNotFollowed(statusCode: 302)))
                #expect(attempt.statusCode == 302)
                #expect(attempt.errorText == "HTTP 302, redirects are not followed")
                let records = try receiver.requests()
                #expect(records.map(\.path) == ["/hook"])
            }
        }
    }

    @Test("a slow endpoint times out and is retried")
    func timeout() async throws {
        let secret = WebhookSecret.generate()
        try await withReceiver(secrets: [secret], responses: ["200;sleep=30"]) { receiver in
            let configuration = WebhookSender.Configuration(timeout: .milliseconds(500))
            try await withSender(policy: localReceiverPolicy, configuration: configuration) { sender in
                let attempt = await sender.send(makeRequest(to: receiver.url, signer: WebhookSigner(current: secret)))
                #expect(attempt.outcome == .failed(.timeout))
                #expect(attempt.statusCode == nil)
                #expect(attempt.errorText?.hasPrefix("timed out") == true)
                let received = try receiver.requests()
                #expect(received.count == 1)
            }
        }
    }

    @Test("a closed port is a retried connection failure with a secret-free text")
    func connectionRefused() async throws {
        // Start and stop a receiver to get a port that nothing listens on.
        let receiver = try await WebhookReceiver.start(secrets: [.generate()])
        let url = URL(string: "http://127.0.0.1:\(receiver.port)/hook?token=s3cr3t")!
        await receiver.stop()
        // The client keeps retrying a refused connection until the timeout, so keep it short.
        try await withSender(policy: localReceiverPolicy, configuration: .init(timeout: .seconds(2))) { sender in
            let secret = WebhookSecret.generate()
            let attempt = await sender.send(makeRequest(to: url, signer: WebhookSigner(current: secret)))
            #expect(attempt.outcome == .failed(.connectionFailed))
            let text = try #require(attempt.errorText)
            #expect(text == "connection to 127.0.0.1 port \(receiver.port) failed: Connection refused")
            #expect(!text.contains("s3cr3t"))
            #expect(!text.contains(secret.encoded))
        }
    }

    @Test("without the allowlist the local receiver is refused before any connection")
    func loopbackRefusedByDefault() async throws {
        let secret = WebhookSecret.generate()
        try await withReceiver(secrets: [secret]) { receiver in
            try await withSender(policy: WebhookAddressPolicy()) { sender in
                let attempt = await sender.send(makeRequest(to: receiver.url, signer: WebhookSigner(current: secret)))
                #expect(attempt.outcome == .failed(.addressRejected(.forbiddenAddress(host: "127.0.0.1", address: .v4(127, 0, 0, 1), kind: .loopback))))
                #expect(attempt.errorText == "127.0.0.1 is a loopback address")
                let received = try receiver.requests()
                #expect(received.isEmpty)
            }
        }
    }

    @Test("the connection goes to the checked address, and a rebound answer is refused")
    func dnsPinning() async throws {
        let secret = WebhookSecret.generate()
        let host = "hooks.newsalert.invalid"  // .invalid never resolves in real DNS
        let resolver = StubResolver([host: [["127.0.0.1"], ["169.254.169.254"]]])
        let policy = WebhookAddressPolicy(allowedRanges: [IPAddressRange("127.0.0.1/32")!], resolver: resolver)
        try await withReceiver(secrets: [secret]) { receiver in
            try await withSender(policy: policy) { sender in
                let url = URL(string: "http://\(host):\(receiver.port)/hook")!
                let request = makeRequest(to: url, signer: WebhookSigner(current: secret))
                let first = await sender.send(request)
                #expect(first.outcome == .delivered, "\(first.errorText ?? "")")
                #expect(first.address == .v4(127, 0, 0, 1))
                #expect(resolver.lookups(of: host) == 1)
                let record = try #require(try receiver.requests().first)
                #expect(record.host == "\(host):\(receiver.port)")
                #expect(record.verified == [true])

                // The name now points at the metadata service: refused, nothing sent.
                let second = await sender.send(request)
                #expect(second.outcome == .failed(.addressRejected(.forbiddenAddress(host: host, address: .v4(169, 254, 169, 254), kind: .linkLocal))))
                #expect(second.errorText == "\(host) resolves to 169.254.169.254, a link-local address")
                #expect(resolver.lookups(of: host) == 2)
                let received = try receiver.requests()
                #expect(received.count == 1)
            }
        }
    }

    @Test("a slow endpoint does not hold up another endpoint")
    func slowEndpointIsolation() async throws {
        let secret = WebhookSecret.generate()
        let signer = WebhookSigner(current: secret)
        try await withReceiver(secrets: [secret], responses: ["200;sleep=60"]) { slow in
            try await withReceiver(secrets: [secret]) { fast in
                let configuration = WebhookSender.Configuration(timeout: .seconds(50), maximumConcurrentRequestsPerEndpoint: 1)
                try await withSender(policy: localReceiverPolicy, configuration: configuration) { sender in
                    try await withThrowingTaskGroup(of: WebhookAttempt.self) { group in
                        for _ in 0..<2 {
                            group.addTask { await sender.send(makeRequest(to: slow.url, signer: signer, endpointID: "slow")) }
                        }
                        // One request is stuck at the slow endpoint, the other waits for its slot.
                        while try sender.limiter.usage(of: "slow") != (1, 1) || slow.requests().count != 1 {
                            try await Task.sleep(for: .milliseconds(10))
                        }
                        let attempt = await sender.send(makeRequest(to: fast.url, signer: signer, endpointID: "fast"))
                        #expect(attempt.outcome == .delivered)
                        #expect(sender.limiter.usage(of: "slow") == (1, 1))

                        group.cancelAll()
                        var outcomes: [WebhookAttemptOutcome] = []
                        for try await attempt in group { outcomes.append(attempt.outcome) }
                        #expect(outcomes == [.failed(.cancelled), .failed(.cancelled)])
                        #expect(try slow.requests().count == 1)
                    }
                }
            }
        }
    }

    @Test("HTTPS to a pinned address still verifies the certificate against the URL's host name")
    func tlsVerifiesHostName() async throws {
        let secret = WebhookSecret.generate()
        let name = "hooks.newsalert.test"
        let resolver = StubResolver([name: ["127.0.0.1"], "other.newsalert.test": ["127.0.0.1"]])
        let policy = WebhookAddressPolicy(allowedRanges: [IPAddressRange("127.0.0.1/32")!], resolver: resolver)
        try await withReceiver(secrets: [secret], tlsName: name) { receiver in
            let ca = try #require(receiver.caCertificatePEM)
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            let configuration = WebhookSender.Configuration(timeout: .seconds(5), tlsConfiguration: tls)
            try await withSender(policy: policy, configuration: configuration) { sender in
                let signer = WebhookSigner(current: secret)
                let good = await sender.send(makeRequest(to: URL(string: "https://\(name):\(receiver.port)/hook")!, signer: signer))
                #expect(good.outcome == .delivered, "\(good.errorText ?? "")")

                // Same address, but the certificate does not name this host: refused by TLS.
                let wrongName = await sender.send(makeRequest(to: URL(string: "https://other.newsalert.test:\(receiver.port)/hook")!, signer: signer))
                #expect(wrongName.outcome == .failed(.tlsFailed), "\(wrongName.errorText ?? "")")
                #expect(wrongName.errorText?.contains("other.newsalert.test") == true)
                #expect(wrongName.statusCode == nil)

                let records = try receiver.requests()
                #expect(records.count == 1)
                #expect(records.first?.verified == [true])
                #expect(records.first?.host == "\(name):\(receiver.port)")
            }
        }
    }

    @Test("a sender released without shutdown() does not bring the process down")
    func releasedWithoutShutdown() async throws {
        let secret = WebhookSecret.generate()
        try await withReceiver(secrets: [secret]) { receiver in
            var sender: WebhookSender? = WebhookSender(policy: localReceiverPolicy)
            let attempt = await sender!.send(makeRequest(to: receiver.url, signer: WebhookSigner(current: secret)))
            #expect(attempt.outcome == .delivered)
            sender = nil
            #expect(sender == nil)
        }
    }
}
