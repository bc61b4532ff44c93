import Foundation
import NIOSSL
import NewsAlertDelivery

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Failures of the test peers themselves (not of the code under test).
struct PeerFailure: Error, CustomStringConvertible {
    let description: String
}

/// Where this file really lives (resolving any symlinked source folder).
private let testSourceDirectory = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()

/// The Python interpreter of the repository's virtual environment (`.venv` at the repository
/// root, found by walking up from this file), or `NEWSALERT_PYTHON` when set.
func peerPython() throws -> URL {
    if let override = ProcessInfo.processInfo.environment["NEWSALERT_PYTHON"] {
        return URL(fileURLWithPath: override)
    }
    var directory = testSourceDirectory
    while directory.path != "/" {
        let candidate = directory.appendingPathComponent(".venv/bin/python")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    throw PeerFailure(description: "no .venv/bin/python above \(testSourceDirectory.path); create it with aiosmtpd and trustme")
}

/// Polls `condition` every 50 ms until it returns a value or `timeout` passes.
func poll<T>(timeout: Duration, _ what: String, _ condition: () throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try condition() { return value }
        guard ContinuousClock.now < deadline else { throw PeerFailure(description: "timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// A subprocess started for one test, with a scratch directory for its files; always stopped by ``stop()``.
final class PeerProcess {
    let process = Process()
    let directory: URL

    /// Creates the scratch directory; `arguments` may refer to files in it.
    init(executable: URL, arguments: (URL) -> [String]) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("newsalert-smtp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let stdoutFile = directory.appendingPathComponent("stdout.txt")
        let stderrFile = directory.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        process.executableURL = executable
        process.arguments = arguments(directory)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        do {
            try process.run()
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    var stdout: String { read("stdout.txt") }
    var stderr: String { read("stderr.txt") }

    private func read(_ name: String) -> String {
        (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
    }

    /// SIGTERM, then SIGKILL if the process is still alive after two seconds; removes its files.
    func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(2)
            while process.isRunning, Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Waits for a `ready port=N` line on stdout.
    func waitForReadyPort(timeout: Duration = .seconds(30)) async throws -> Int {
        try await poll(timeout: timeout, "the peer's ready line") {
            if let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix("ready port=") }),
                let port = Int(line.dropFirst("ready port=".count).trimmingCharacters(in: .whitespaces))
            {
                return port
            }
            if !process.isRunning {
                throw PeerFailure(description: "the peer exited early: \(stderr)")
            }
            return nil
        }
    }
}

/// What `smtp_peer.py` records: a connection or a received message.
struct PeerEvent: Decodable {
    struct Parsed: Decodable {
        struct Part: Decodable {
            let contentType: String
            let charset: String?
            let transferEncoding: String?
            let content: String
        }

        let subject: String?
        let from: String?
        let to: String?
        let contentType: String
        let headers: [[String]]
        let rawHeaders: String
        let defects: [String]
        let parts: [Part]

        func headerValues(_ name: String) -> [String] {
            headers.filter { $0.first?.lowercased() == name.lowercased() }.map { $0[1] }
        }
    }

    let event: String
    let connection: Int?
    let sequence: Int?
    let tls: Bool?
    let authenticated: Bool?
    let login: String?
    let helo: String?
    let extendedSmtp: Bool?
    let mailFrom: String?
    let mailOptions: [String]?
    let rcptTos: [String]?
    let rawB64: String?
    let accepted: Bool?
    let parsed: Parsed?
    let bufferedAfterMail: String?
    let parseError: String?

    var raw: [UInt8] { rawB64.flatMap { Data(base64Encoded: $0) }.map { Array($0) } ?? [] }
}

/// An aiosmtpd server (`smtp_peer.py`) on 127.0.0.1 that records what it receives.
final class AiosmtpdPeer {
    let peer: PeerProcess
    let port: Int

    var recordFile: URL { peer.directory.appendingPathComponent("record.jsonl") }
    var caFile: URL { peer.directory.appendingPathComponent("ca.pem") }

    private init(peer: PeerProcess, port: Int) {
        self.peer = peer
        self.port = port
    }

    /// Starts the peer with `smtp_peer.py` options and waits until it listens.
    static func start(_ options: [String] = []) async throws -> AiosmtpdPeer {
        let script = testSourceDirectory.appendingPathComponent("smtp_peer.py")
        let peer = try PeerProcess(executable: try peerPython()) { directory in
            [
                script.path,
                "--record", directory.appendingPathComponent("record.jsonl").path,
                "--ca-file", directory.appendingPathComponent("ca.pem").path,
            ] + options
        }
        do {
            return AiosmtpdPeer(peer: peer, port: try await peer.waitForReadyPort())
        } catch {
            peer.stop()
            throw error
        }
    }

    func stop() { peer.stop() }

    /// Every event recorded so far.
    func events() throws -> [PeerEvent] {
        guard let text = try? String(contentsOf: recordFile, encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try text.split(separator: "\n").map { try decoder.decode(PeerEvent.self, from: Data($0.utf8)) }
    }

    /// The received messages, in order.
    func messages() throws -> [PeerEvent] { try events().filter { $0.event == "message" } }

    /// The number of TCP connections accepted.
    func connectionCount() throws -> Int { try events().filter { $0.event == "connect" }.count }

    /// A relay configuration for this peer, trusting its test CA.
    func relay(
        tls: SMTPRelayConfiguration.TLSMode = .none,
        username: String? = nil,
        password: String? = nil,
        mechanism: SMTPRelayConfiguration.AuthenticationMechanism? = nil
    ) -> SMTPRelayConfiguration {
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        if FileManager.default.fileExists(atPath: caFile.path) {
            tlsConfiguration.trustRoots = .file(caFile.path)
        }
        return SMTPRelayConfiguration(
            host: "127.0.0.1", port: port, tls: tls, tlsConfiguration: tlsConfiguration,
            username: username, password: password, authenticationMechanism: mechanism,
            heloName: "newsalert.test", timeout: .seconds(15), connectTimeout: .seconds(5))
    }
}

/// Runs `body` with a started aiosmtpd peer and always stops the peer afterwards.
func withAiosmtpd<T>(_ options: [String] = [], _ body: (AiosmtpdPeer) async throws -> T) async throws -> T {
    let peer = try await AiosmtpdPeer.start(options)
    do {
        let result = try await body(peer)
        peer.stop()
        return result
    } catch {
        peer.stop()
        throw error
    }
}

/// A listening socket on 127.0.0.1 that never accepts: connections complete in the kernel's
/// backlog and then hear nothing, like a hung relay.
final class SilentListener {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw PeerFailure(description: "socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && listen(descriptor, 8) == 0
                    && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard listening else {
            close(descriptor)
            throw PeerFailure(description: "could not listen")
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func stop() { close(descriptor) }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now (bound, read back and released).
func unusedLoopbackPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw PeerFailure(description: "socket() failed") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
        }
    }
    guard bound else { throw PeerFailure(description: "bind() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
func waitUntilListening(port: Int, timeout: Duration = .seconds(30)) async throws {
    _ = try await poll(timeout: timeout, "a listener on port \(port)") { () -> Bool? in
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        return connected ? true : nil
    }
}
