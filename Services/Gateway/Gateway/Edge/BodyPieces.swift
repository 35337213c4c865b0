import NIOCore

/// The pieces of a body on their way from a connection to an async reader, on the connection's
/// event loop: those that arrived and wait, the body's end or failure, and the reader waiting for
/// the next piece. A proxied response body (``UpstreamExchange``) and a public request body
/// (``EdgeRequestBody``) both travel this way; the connection stops reading while ``highWater``
/// bytes wait and reads again below half of it. Used on that event loop only.
struct BodyPieces {
    static let highWater = 256 * 1024

    private var parts = CircularBuffer<ByteBuffer>()
    private var bufferedBytes = 0
    private(set) var ended = false
    private(set) var failure: (any Error)?
    private var waiter: EventLoopPromise<ByteBuffer?>?

    /// Whether the connection may read more now.
    var wantsMoreData: Bool { bufferedBytes < Self.highWater }

    /// Whether the connection, held back, may read again (after a piece was taken).
    var mayResumeReading: Bool { bufferedBytes < Self.highWater / 2 }

    /// Hands `part` to the waiting reader (then true), or keeps it for the next read.
    @discardableResult
    mutating func received(_ part: ByteBuffer) -> Bool {
        if let waiter {
            self.waiter = nil
            waiter.succeed(part)
            return true
        }
        parts.append(part)
        bufferedBytes += part.readableBytes
        return false
    }

    mutating func receivedEnd() {
        ended = true
        waiter?.succeed(nil)
        waiter = nil
    }

    /// The body failed (or is not wanted): the waiting reader and every later read get `error`,
    /// and what waited is dropped. The first failure stays.
    mutating func fail(_ error: any Error) {
        guard failure == nil else { return }
        failure = error
        waiter?.fail(error)
        waiter = nil
        parts.removeAll()
        bufferedBytes = 0
    }

    /// What a reader gets now without waiting.
    enum Next {
        case part(ByteBuffer)
        case end
        case failed(any Error)
        /// Nothing yet: wait with ``wait(on:)``.
        case none
    }

    mutating func take() -> Next {
        if let part = parts.popFirst() {
            bufferedBytes -= part.readableBytes
            return .part(part)
        }
        if ended { return .end }
        if let failure { return .failed(failure) }
        return .none
    }

    /// The next piece, for a reader that found none waiting.
    mutating func wait(on eventLoop: any EventLoop) -> EventLoopFuture<ByteBuffer?> {
        let waiter = eventLoop.makePromise(of: ByteBuffer?.self)
        self.waiter = waiter
        return waiter.futureResult
    }

    /// Every piece that waits, in one buffer (a body that has ended).
    mutating func takeAll() -> ByteBuffer {
        var whole = parts.popFirst() ?? ByteBuffer()
        while var part = parts.popFirst() { whole.writeBuffer(&part) }
        bufferedBytes = 0
        return whole
    }
}
