import Foundation
import Testing

import NewsAlertDelivery

@Suite("SSRF guard")
struct WebhookAddressPolicyTests {
    /// URLs that must never be delivered to, with a phrase the refusal must contain.
    static let blocked: [(String, String)] = [
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://localhost/", "loopback"),
        ("http://LOCALHOST.:9000/", "loopback"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://10.0.0.1/", "a private network address"),
        ("http://10.255.255.254:8443/", "private network"),
        ("http://172.16.0.1/", "private network"),
        ("http://172.31.255.255/", "private network"),
        ("http://192.168.1.1/", "private network"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://[fd00::1]/", "unique local"),
        ("http://[fc00::1]/", "unique local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:7f00:1]/", "loopback"),
        ("http://[::ffff:a9fe:a9fe]/", "link-local"),
        ("http://[::127.0.0.1]/", "loopback"),
        ("http://[64:ff9b::10.0.0.1]/", "private network"),
        ("http://[2002:c0a8:101::1]/", "private network"),
        ("http://2130706433/", "2130706433 resolves to 127.0.0.1, a loopback address"),
        ("http://0x7f000001/", "resolves to 127.0.0.1, a loopback address"),
        ("http://017700000001/", "resolves to 127.0.0.1, a loopback address"),
        ("http://0x7f.1/", "resolves to 127.0.0.1, a loopback address"),
        ("http://127.1/", "resolves to 127.0.0.1, a loopback address"),
        ("http://0251.0376.0251.0376/", "resolves to 169.254.169.254, a link-local address"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://255.255.255.255/", "broadcast"),
        ("http://198.18.0.1/", "benchmarking"),
        ("http://192.0.2.10/", "documentation"),
        ("http://240.0.0.1/", "reserved"),
        ("ftp://example.com/", "scheme \"ftp\" is not allowed"),
        ("file:///etc/passwd", "scheme \"file\" is not allowed"),
        ("gopher://example.com:70/", "scheme \"gopher\" is not allowed"),
        ("http://user:hunter2@example.com/", "user name or password"),
        ("https://user@example.com/", "user name or password"),
        ("http://:hunter2@example.com/", "user name or password"),
        ("http:///path-only", "no host"),
    ]

    @Test("blocked URLs are refused with a reason", arguments: blocked)
    func blockedURL(url: String, reason: String) async throws {
        // The system resolver is used, but only "localhost" needs it: literals are never looked up.
        let policy = WebhookAddressPolicy()
        do {
            let target = try await policy.check(url)
            Issue.record("\(url) was allowed, to \(target)")
        } catch {
            #expect(error.description.contains(reason), "\(url): \(error.description)")
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test("a public host passes and is pinned to the resolved address")
    func publicHost() async throws {
        let resolver = StubResolver(["hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]])
        let policy = WebhookAddressPolicy(resolver: resolver)
        let target = try await policy.check("https://hooks.example.com/newsalert?token=abc")
        #expect(target.address == IPAddress("93.184.215.14"))
        #expect(target.host == "hooks.example.com")
        #expect(target.port == 443)
        #expect(target.usesTLS)
        #expect(resolver.lookups(of: "hooks.example.com") == 1)

        let oddPort = try await policy.check("http://hooks.example.com:8081/x")
        #expect(oddPort.port == 8081)
        #expect(!oddPort.usesTLS)
        #expect(try await policy.check("http://8.8.8.8/").address == .v4(8, 8, 8, 8))
        #expect(try await policy.check("http://[2001:4860:4860::8888]/").address == IPAddress("2001:4860:4860::8888"))
    }

    @Test("a host with any forbidden address among its answers is refused")
    func mixedAnswers() async {
        let policy = WebhookAddressPolicy(resolver: StubResolver([
            "mixed.example.com": ["93.184.215.14", "10.0.0.1"],
            "mapped.example.com": ["::ffff:169.254.169.254"],
        ]))
        await #expect(throws: WebhookAddressError.forbiddenAddress(host: "mixed.example.com", address: .v4(10, 0, 0, 1), kind: .privateNetwork)) {
            try await policy.check("https://mixed.example.com/")
        }
        do {
            _ = try await policy.check("https://mapped.example.com/")
            Issue.record("mapped.example.com was allowed")
        } catch {
            #expect(error.description == "mapped.example.com resolves to ::ffff:169.254.169.254, a link-local address")
        }
    }

    @Test("unresolvable and empty answers are refused")
    func unresolvable() async {
        let policy = WebhookAddressPolicy(resolver: StubResolver(["empty.example.com": [String]()]))
        await #expect(throws: WebhookAddressError.unresolvable(host: "nowhere.example.com", reason: "Name or service not known")) {
            try await policy.check("https://nowhere.example.com/")
        }
        await #expect(throws: WebhookAddressError.noAddresses(host: "empty.example.com")) {
            try await policy.check("https://empty.example.com/")
        }
    }

    @Test("names that merely look numeric are resolved, not parsed")
    func hexLookingNames() async throws {
        let resolver = StubResolver(["cafe.example": ["93.184.215.14"], "deadbeef": ["93.184.215.15"]])
        let policy = WebhookAddressPolicy(resolver: resolver)
        #expect(try await policy.check("http://cafe.example/").address == IPAddress("93.184.215.14"))
        #expect(try await policy.check("http://deadbeef/").address == IPAddress("93.184.215.15"))
        #expect(resolver.lookups(of: "deadbeef") == 1)
    }

    @Test("the allowlist admits exactly what it names")
    func allowlist() async throws {
        let policy = WebhookAddressPolicy(
            allowlist: ["127.0.0.1/32", "fd12:3456::/32", "hooks.on-prem.internal", "*.corp.internal", "  "],
            resolver: StubResolver([
                "hooks.on-prem.internal": ["10.20.30.40"],
                "a.b.corp.internal": ["192.168.7.7"],
                "corp.internal": ["192.168.7.8"],
            ])
        )
        #expect(policy.allowedRanges.map(\.description) == ["127.0.0.1/32", "fd12:3456::/32"])
        #expect(try await policy.check("http://127.0.0.1:9/").address == .v4(127, 0, 0, 1))
        #expect(try await policy.check("http://2130706433:9/").address == .v4(127, 0, 0, 1))
        #expect(try await policy.check("http://[fd12:3456::5]/").address == IPAddress("fd12:3456::5"))
        #expect(try await policy.check("http://hooks.on-prem.internal/").address == IPAddress("10.20.30.40"))
        #expect(try await policy.check("http://HOOKS.on-prem.internal./").address == IPAddress("10.20.30.40"))
        #expect(try await policy.check("http://a.b.corp.internal/").address == IPAddress("192.168.7.7"))

        for refused in ["http://127.0.0.2/", "http://[::1]/", "http://[fd12:3457::1]/", "http://corp.internal/", "ftp://127.0.0.1/", "http://u:p@127.0.0.1/"] {
            await #expect(throws: WebhookAddressError.self, "\(refused)") { try await policy.check(refused) }
        }
    }
}

@Suite("IP addresses")
struct IPAddressTests {
    @Test("text forms parse and print canonically")
    func parsing() {
        #expect(IPAddress("192.0.2.1") == .v4(192, 0, 2, 1))
        #expect(IPAddress("::ffff:7f00:1")?.description == "::ffff:127.0.0.1")
        #expect(IPAddress("2001:DB8:0:0:0:0:0:1")?.description == "2001:db8::1")
        #expect(IPAddress("2130706433") == nil)
        #expect(IPAddress(legacyIPv4: "2130706433") == .v4(127, 0, 0, 1))
        #expect(IPAddress(legacyIPv4: "0x7f.1") == .v4(127, 0, 0, 1))
        #expect(IPAddress(legacyIPv4: "example.com") == nil)
        #expect(IPAddress(legacyIPv4: "1.2.3.4.5") == nil)
        #expect(IPAddress(ipv4: 0x7f00_0001) == .v4(127, 0, 0, 1))
    }

    @Test("CIDR blocks contain their own family only")
    func ranges() throws {
        let block = try #require(IPAddressRange("172.16.0.0/12"))
        #expect(block.contains(.v4(172, 31, 255, 255)))
        #expect(!block.contains(.v4(172, 32, 0, 0)))
        #expect(!block.contains(IPAddress("::ffff:172.16.0.1")!))
        #expect(IPAddressRange("10.1.2.3/8")?.description == "10.0.0.0/8")
        #expect(IPAddressRange("[::1]")?.description == "::1/128")
        #expect(IPAddressRange("10.0.0.0/33") == nil)
        #expect(IPAddressRange("not-an-address/8") == nil)
    }

    @Test("embedded IPv4 addresses are found")
    func embedded() {
        #expect(IPAddress("::ffff:10.0.0.1")?.embeddedIPv4 == .v4(10, 0, 0, 1))
        #expect(IPAddress("::10.0.0.1")?.embeddedIPv4 == .v4(10, 0, 0, 1))
        #expect(IPAddress("64:ff9b::a00:1")?.embeddedIPv4 == .v4(10, 0, 0, 1))
        #expect(IPAddress("2002:a00:1::")?.embeddedIPv4 == .v4(10, 0, 0, 1))
        #expect(IPAddress("::1")?.embeddedIPv4 == nil)
        #expect(IPAddress("2001:4860::1")?.embeddedIPv4 == nil)
        #expect(SpecialPurposeAddress.classify(IPAddress("2001:4860:4860::8888")!) == nil)
        #expect(SpecialPurposeAddress.classify(.v4(8, 8, 8, 8)) == nil)
    }
}
