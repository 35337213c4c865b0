import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartTransport

/// `/api/v1/tickets…` and `/api/v1/search`: tickets, their messages, the recycle bin (and emptying it).
struct TicketRoutes: Sendable {
    let tickets: TicketRepository
    let messages: MessageRepository
    let idempotency: IdempotencyStore

    /// The data of a single-ticket answer.
    struct One<Item: Encodable & Sendable>: Encodable, Sendable {
        var data: Item
    }

    /// A created ticket: the ticket with its first message.
    struct Created: Encodable, Sendable {
        var data: TicketView
        var message: MessageView
    }

    /// What emptying the recycle bin deleted.
    struct EmptiedBin: Encodable, Sendable {
        var deleted: Int
    }

    func register(on api: RouterGroup<AuthenticatedContext>) {
        api.get("tickets") { request, context -> Response in
            let caller = try Caller(context.principal)
            let query = try TicketQuery(Self.parameters(request), search: false)
            let (page, next) = try await tickets.list(caller, query)
            return try TicketsRequest.json(Page(page, limit: query.limit, sort: query.sort.rawValue, cursor: next?.encoded, request: request))
        }
        api.get("search") { request, context -> Response in
            let caller = try Caller(context.principal)
            let query = try TicketQuery(Self.parameters(request), search: true)
            let (page, next) = try await tickets.list(caller, query)
            return try TicketsRequest.json(Page(page, limit: query.limit, sort: query.sort.rawValue, cursor: next?.encoded, request: request))
        }
        api.post("tickets") { request, context -> Response in
            let caller = try Caller(context.principal)
            let body = try await Self.body(request)
            return try await idempotent(caller, request, body) {
                let input = try TicketsRequest.decode(NewTicket.self, from: Data(body))
                let (ticket, message) = try await tickets.create(caller, input, requestID: context.requestID)
                return (HTTPResponse.Status.created, ticket.version, Created(data: ticket, message: message))
            }
        }
        api.get("tickets/{id}") { _, context -> Response in
            let ticket = try await tickets.find(try Caller(context.principal), id: try TicketsRequest.id(context, resource: "ticket"))
            return try TicketsRequest.json(One(data: ticket), headers: [.eTag: TicketsRequest.etag(ticket.version)])
        }
        api.patch("tickets/{id}") { request, context -> Response in
            let caller = try Caller(context.principal)
            let id = try TicketsRequest.id(context, resource: "ticket")
            let changes = try await TicketsRequest.decode(TicketChanges.self, from: request)
            let ticket = try await tickets.update(caller, id: id, changes, expected: try TicketsRequest.ifMatch(request), requestID: context.requestID)
            return try TicketsRequest.json(One(data: ticket), headers: [.eTag: TicketsRequest.etag(ticket.version)])
        }
        api.delete("tickets/{id}") { request, context -> Response in
            let caller = try Caller(context.principal)
            let id = try TicketsRequest.id(context, resource: "ticket")
            _ = try await tickets.moveToBin(caller, id: id, restore: false, expected: try TicketsRequest.ifMatch(request), requestID: context.requestID)
            return Response(status: .noContent)
        }
        api.delete("tickets/recycle-bin") { _, context -> Response in
            let deleted = try await tickets.emptyRecycleBin(try Caller(context.principal), requestID: context.requestID)
            return try TicketsRequest.json(One(data: EmptiedBin(deleted: deleted)))
        }
        api.post("tickets/{id}/restore") { request, context -> Response in
            let caller = try Caller(context.principal)
            let id = try TicketsRequest.id(context, resource: "ticket")
            let ticket = try await tickets.moveToBin(caller, id: id, restore: true, expected: try TicketsRequest.ifMatch(request), requestID: context.requestID)
            return try TicketsRequest.json(One(data: ticket), headers: [.eTag: TicketsRequest.etag(ticket.version)])
        }
        api.get("tickets/{id}/messages") { request, context -> Response in
            let list = try await messages.list(try Caller(context.principal), ticket: try TicketsRequest.id(context, resource: "ticket"))
            return try TicketsRequest.json(Page(list, limit: list.count, cursor: nil, request: request))
        }
        api.post("tickets/{id}/messages") { request, context -> Response in
            let caller = try Caller(context.principal)
            let id = try TicketsRequest.id(context, resource: "ticket")
            let body = try await Self.body(request)
            return try await idempotent(caller, request, body) {
                let input = try TicketsRequest.decode(NewMessage.self, from: Data(body))
                let (message, ticket) = try await messages.add(caller, ticket: id, input, requestID: context.requestID)
                return (HTTPResponse.Status.created, ticket.version, One(data: message))
            }
        }
    }

    /// Runs a create under its `Idempotency-Key` (if any) and answers with its JSON; `ETag` is
    /// the ticket's new version.
    private func idempotent<Value: Encodable>(_ caller: Caller, _ request: Request, _ body: [UInt8],
                                              _ create: () async throws -> (HTTPResponse.Status, Int, Value)) async throws -> Response {
        let key = HTTPField.Name("Idempotency-Key").flatMap { request.headers[$0] }
        let fingerprint = Array("\(request.method.rawValue) \(request.uri.path)\n".utf8) + body
        let (answer, replayed) = try await idempotency.run(caller, key: key, fingerprint: fingerprint) {
            let (status, version, value) = try await create()
            return .init(status: Int(status.code), etag: TicketsRequest.etag(version), body: try TicketsRequest.encoder.encode(value))
        }
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let etag = answer.etag { headers[.eTag] = etag }
        if replayed, let name = HTTPField.Name("Idempotent-Replayed") { headers[name] = "true" }
        return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    /// A create's raw body (checked as JSON later), so its bytes can key idempotency.
    static func body(_ request: Request) async throws -> [UInt8] {
        guard MediaType.isJSON(request.headers[.contentType]) else {
            throw ProblemError(status: .unsupportedMediaType, code: "unsupported_media_type", title: "Unsupported media type", detail: "Send application/json.")
        }
        do {
            return Array(try await request.body.collect(upTo: TicketsRequest.maximumBodyBytes).readableBytesView)
        } catch {
            throw ProblemError(status: .contentTooLarge, code: "body_too_large", title: "Request body too large", detail: "JSON bodies are limited to 1 MiB.")
        }
    }

    /// The query string as name/value pairs, repeated names kept (so they can be refused).
    static func parameters(_ request: Request) -> [(String, String)] {
        request.uri.queryParameters.map { (String($0.key), String($0.value)) }
    }
}
