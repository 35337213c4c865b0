import Hummingbird
import NIOCore
import RampartCore

/// The part of a large `multipart/form-data` body the WAF reads before it is forwarded: every
/// field up to the first file's content, with that file part's headers (its name and file name).
/// Forms that carry files (a reply with attachments, a new request) are in a body class far
/// larger than what is read whole; their text would otherwise stream past inspection. Browsers
/// send fields in form order and Rampart's forms put the file input last, so the head holds all
/// of their text; tickets refuses a form with a text field after a file (`PageForm`), so text
/// the WAF did not read is never taken either.
enum MultipartHead {
    /// Most bytes read between two parses of the growing head (a quarter of the bound when that
    /// is less), so a client sending one byte at a time costs a parse per this many, not per byte.
    static let parseEvery = 64 * 1024

    /// What reading the head found.
    enum Outcome {
        /// The body ended first: this is all of it.
        case whole(ByteBuffer)
        /// The head up to (and including) the first file part's headers; the rest follows in `reader`.
        case head(ByteBuffer)
    }

    /// Reads from `reader` until the first file part's headers are complete or the body ends;
    /// 413 when the fields before the first file are more than `bound` bytes, 400 when what has
    /// arrived is not multipart as tickets reads it (``MultipartBody``).
    static func read(_ reader: RequestBodyReader, boundary: String, bound: Int) async throws -> Outcome {
        let step = min(parseEvery, max(bound / 4, 1024))
        var head = ByteBuffer()
        var parsedAt = 0
        while let chunk = try await reader.next() {
            var chunk = chunk
            head.writeBuffer(&chunk)
            guard head.readableBytes - parsedAt >= step || head.readableBytes > bound else { continue }
            parsedAt = head.readableBytes
            // The fields before the first file must fit in `bound`, however the bytes arrived.
            if try reachedFile(head.readableBytesView.prefix(bound), boundary: boundary) { return .head(head) }
            if head.readableBytes > bound { throw EdgeProblem.bodyTooLarge }
        }
        return .whole(head)
    }

    /// Whether `head` holds a file part's complete headers (or is a complete body); 400 when it
    /// cannot be the beginning of a well-formed body.
    static func reachedFile(_ head: ByteBufferView.SubSequence, boundary: String) throws -> Bool {
        guard let multipart = MultipartBody(head, boundary: boundary, partial: true) else { throw EdgeProblem.malformedBody }
        return multipart.complete || multipart.parts.contains { $0.filename != nil }
    }
}

/// A request body read by one task in two stretches: the head, for inspection, then the rest as
/// the upstream takes it. Never read by two tasks at once (the responder reads the head, then
/// hands the reader to the proxy), and ``remaining`` is iterated once: a body that streamed is
/// not replayable (`EdgeProxy.Body.isReplayable`), so nothing forwards it twice.
final class RequestBodyReader: @unchecked Sendable {
    private var iterator: RequestBody.AsyncIterator

    init(_ body: RequestBody) {
        iterator = body.makeAsyncIterator()
    }

    func next() async throws -> ByteBuffer? {
        try await iterator.next()
    }

    /// What is left of the body, as a body to forward.
    var remaining: RequestBody {
        RequestBody(asyncSequence: Remaining(reader: self))
    }

    private struct Remaining: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let reader: RequestBodyReader

        struct AsyncIterator: AsyncIteratorProtocol {
            let reader: RequestBodyReader

            func next() async throws -> ByteBuffer? {
                try await reader.next()
            }
        }

        func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(reader: reader)
        }
    }
}
