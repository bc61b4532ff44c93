import Dispatch

/// Runs a blocking librdkafka call on a Dispatch thread, keeping it off Swift's cooperative pool.
func blockingCall<Result: Sendable, Failure: Error>(
    on queue: DispatchQueue = .global(),
    _ body: @escaping @Sendable () throws(Failure) -> Result
) async throws(Failure) -> Result {
    let outcome: Swift.Result<Result, Failure> = await withCheckedContinuation { continuation in
        queue.async {
            continuation.resume(returning: Swift.Result { () throws(Failure) -> Result in try body() })
        }
    }
    return try outcome.get()
}
