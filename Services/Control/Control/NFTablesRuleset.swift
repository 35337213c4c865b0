import RampartCore

/// The allow-list as an nftables ruleset for hosts of one region (the systemd install): a
/// connection to a service's internal port is accepted only from the hosts of callers the
/// allow-list names; anything else to an internal port is dropped before any service sees it.
/// Hosts are named by address sets per caller (`gateway`, `operator`, …, and `<caller>_peers`
/// for other regions' hosts), filled per installation after this file is loaded.
public struct NFTablesRuleset: Sendable {
    public let flows: [NetworkFlow]
    /// The first internal port; services follow in `ServiceName.allCases` order (as `make run`
    /// numbers the first region).
    public let basePort: Int

    public init(flows: [NetworkFlow], basePort: Int) {
        self.flows = flows
        self.basePort = basePort
    }

    /// The internal port of `service` on its host.
    public func port(of service: ServiceName) -> Int {
        basePort + (ServiceName.allCases.firstIndex(of: service) ?? 0)
    }

    /// An `nft -f` file, the same bytes for the same flows and ports; loading it again replaces
    /// the table (and empties its sets) atomically.
    public func render() -> String {
        let callers = NetworkFlow.callers.filter { caller in flows.contains { $0.caller == caller } }
        let remoteCallers = callers.filter { caller in flows.contains { $0.caller == caller && $0.crossRegion } }
        let ports = "\(port(of: ServiceName.allCases[0]))-\(port(of: ServiceName.allCases[ServiceName.allCases.count - 1]))"
        var lines = [
            "#!/usr/sbin/nft -f",
            "# Rendered by `rampartctl policy render --format nftables` from Deploy/policy/allowlist.yaml",
            "# (base port \(basePort)). Do not edit: the test suite fails when this file differs from a fresh render.",
            "# Internal ports: " + ServiceName.allCases.map { "\($0) \(port(of: $0))" }.joined(separator: ", ") + ".",
            "# Load it together with the installation's host addresses (Deploy/systemd/nftables/hosts.nft.example).",
            "table inet rampart",
            "delete table inet rampart",
            "",
            "table inet rampart {",
            "\t# Addresses of this region's hosts running each caller (operators: their workstations or bastions).",
        ]
        lines += callers.map { "\tset \($0) { type ipv4_addr; flags interval; }" }
        lines.append("\t# Addresses of other regions' hosts, for the callers the allow-list lets cross regions.")
        lines += remoteCallers.map { "\tset \($0)_peers { type ipv4_addr; flags interval; }" }
        lines += [
            "",
            "\tchain input {",
            "\t\ttype filter hook input priority filter; policy accept;",
            "\t\t# Services sharing one host reach each other over loopback: there mutual TLS and the",
            "\t\t# services' allow-list are the only check.",
            "\t\tiif \"lo\" accept",
        ]
        for service in ServiceName.allCases {
            let inbound = flows.filter { $0.service == service }
            guard !inbound.isEmpty else { continue }
            lines.append("\t\t# \(service) (\(port(of: service)))")
            for flow in inbound {
                lines.append("\t\ttcp dport \(port(of: service)) ip saddr @\(flow.caller) accept comment \"\(flow.caller) -> \(service)\"")
                if flow.crossRegion {
                    lines.append("\t\ttcp dport \(port(of: service)) ip saddr @\(flow.caller)_peers accept comment \"\(flow.caller) (other regions) -> \(service)\"")
                }
            }
        }
        lines += [
            "\t\t# Everything else to an internal port, IPv6 included, never reaches a service.",
            "\t\ttcp dport \(ports) counter drop comment \"not in the allow-list\"",
            "\t}",
            "}",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
