import Foundation
import KafkaBridge
import Testing

@Suite("Bad configuration")
struct ConfigurationErrorTests {
    @Test("an unknown property is named in a configuration error")
    func unknownProperty() throws {
        var configuration = KafkaProducerConfiguration(kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:9092", properties: ["linger.mss": "5"]))
        configuration.lingerMilliseconds = 5
        let error = #expect(throws: KafkaError.self) { try KafkaProducer(configuration: configuration, logger: TestSupport.logger) }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains("linger.mss") == true)
    }

    @Test("an invalid value is rejected without echoing the value")
    func invalidValue() throws {
        let kafka = KafkaConfiguration(bootstrapServers: "127.0.0.1:9092", properties: ["sasl.password": "s3cret", "acks": "banana"])
        let error = #expect(throws: KafkaError.self) { try KafkaAdmin(configuration: kafka, logger: TestSupport.logger) }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains("acks") == true)
        #expect(error?.description.contains("s3cret") == false)
    }

    @Test("an unreachable bootstrap address gives a connectivity error in bounded time")
    func unreachableBootstrap() async throws {
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"), logger: TestSupport.logger)
        let started = ContinuousClock.now
        let error = await #expect(throws: KafkaError.self) { try await admin.listTopics(timeout: .seconds(2)) }
        #expect(error?.kind == .connectivity)
        #expect(error?.message.contains("127.0.0.1:1") == true)
        #expect(ContinuousClock.now - started < .seconds(30))

        var configuration = KafkaProducerConfiguration(kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"))
        configuration.messageTimeoutMilliseconds = 1_500
        let producer = try KafkaProducer(configuration: configuration, logger: TestSupport.logger)
        let sendError = await #expect(throws: KafkaError.self) {
            try await producer.send(KafkaOutgoingMessage(topic: "nowhere", key: nil, value: "x"))
        }
        #expect(sendError?.kind == .delivery)
    }

    @Test("an embedded cluster needs at least one broker")
    func zeroBrokers() {
        #expect(throws: KafkaError.self) { try EmbeddedKafkaBroker(brokers: 0, logger: TestSupport.logger) }
    }
}
