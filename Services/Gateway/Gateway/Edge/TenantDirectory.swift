import Foundation
import RampartCore
import Synchronization

/// Which tenant id a host's slug names, asked of the region's identity
/// (`GET /internal/v1/tenant-directory/{slug}` over mutual TLS) and remembered: ids never change,
/// so a known slug is kept (bounded), an unknown one for a minute (it may be created).
/// Used only off the request path, by ``WAFAuditTrail``.
final class TenantDirectory: Sendable {
    /// What identity said about a slug.
    enum Answer: Sendable, Equatable {
        case tenant(TenantID)
        /// No such tenant in the region.
        case unknown
    }

    /// Identity could not be asked or did not answer usefully; try again later.
    struct Unavailable: Error {}

    /// Identity's answer for a known slug.
    private struct Entry: Decodable {
        var tenantID: TenantID

        enum CodingKeys: String, CodingKey {
            case tenantID = "tenant_id"
        }
    }

    private struct Key: Hashable {
        let region: Region
        let slug: TenantSlug
    }

    private let upstreams: Upstreams
    private let known = Mutex<[Key: TenantID]>([:])
    private let unknown = Mutex<[Key: ContinuousClock.Instant]>([:])
    private let capacity: Int
    private let unknownFor: Duration

    init(upstreams: Upstreams, capacity: Int = 10_000, unknownFor: Duration = .seconds(60)) {
        self.upstreams = upstreams
        self.capacity = capacity
        self.unknownFor = unknownFor
    }

    /// The tenant `slug` names in `region`.
    func lookUp(_ slug: TenantSlug, in region: Region) async throws -> Answer {
        let key = Key(region: region, slug: slug)
        if let id = known.withLock({ $0[key] }) { return .tenant(id) }
        if let until = unknown.withLock({ $0[key] }), until > .now { return .unknown }
        guard let upstream = upstreams.regions[region], let identity = upstream.endpoints[.identity] else { throw Unavailable() }
        let reply = try await upstream.client.send(.GET, url: identity + "/internal/v1/tenant-directory/\(slug.rawValue)", maximumBodyBytes: 4096)
        switch reply.status {
        case 200:
            guard let entry = try? JSONDecoder().decode(Entry.self, from: reply.body) else { throw Unavailable() }
            known.withLock { known in
                if known.count >= capacity { known.removeAll(keepingCapacity: true) }
                known[key] = entry.tenantID
            }
            return .tenant(entry.tenantID)
        case 404:
            unknown.withLock { unknown in
                if unknown.count >= capacity { unknown.removeAll(keepingCapacity: true) }
                unknown[key] = .now + unknownFor
            }
            return .unknown
        default:
            throw Unavailable()
        }
    }
}
