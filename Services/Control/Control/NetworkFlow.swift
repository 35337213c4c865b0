import RampartCore
import RampartTransport

/// A connection the allow-list permits at the network layer: `caller` may open TCP connections
/// to `service`'s internal port. Routes and methods stay the services' own check; the network
/// only knows who talks to whom, so a flow exists when any rule names the pair.
public struct NetworkFlow: Hashable, Sendable {
    /// A service name, or `operator` (rampartctl).
    public let caller: String
    public let service: ServiceName
    /// Whether callers in other regions may open it too (some rule for the pair says `cross_region`).
    public let crossRegion: Bool

    /// Every caller the allow-list can name, in the order rendered output lists them.
    public static let callers: [String] = ServiceName.allCases.map(\.rawValue) + ["operator"]

    /// The flows `list` permits, one per (caller, service) pair, ordered by service then caller
    /// (the order of `ServiceName.allCases`), whatever the order of the rules.
    public static func flows(in list: AllowList) -> [NetworkFlow] {
        var crossRegion: [Pair: Bool] = [:]
        for rule in list.rules {
            let targets = rule.to == "*" ? ServiceName.allCases : ServiceName(rawValue: rule.to).map { [$0] } ?? []
            for target in targets {
                let pair = Pair(caller: rule.from, service: target)
                crossRegion[pair] = (crossRegion[pair] ?? false) || rule.crossRegion == true
            }
        }
        return ServiceName.allCases.flatMap { service in
            callers.compactMap { caller in
                crossRegion[Pair(caller: caller, service: service)].map {
                    NetworkFlow(caller: caller, service: service, crossRegion: $0)
                }
            }
        }
    }

    private struct Pair: Hashable {
        let caller: String
        let service: ServiceName
    }
}
