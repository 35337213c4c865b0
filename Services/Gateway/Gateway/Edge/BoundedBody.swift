import NIOCore

/// A request body that fails with 413 once more than `limit` bytes went through it, for bodies
/// that stream to the upstream instead of being read whole first.
struct BoundedBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer

    let base: Base
    let limit: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        var remaining: Int

        mutating func next() async throws -> ByteBuffer? {
            guard let buffer = try await base.next() else { return nil }
            remaining -= buffer.readableBytes
            guard remaining >= 0 else { throw EdgeProblem.bodyTooLarge }
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), remaining: limit)
    }
}
