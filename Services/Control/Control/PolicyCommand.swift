import ArgumentParser
import Foundation
import RampartTransport

/// `rampartctl policy`: the service-to-service allow-list, checked or rendered as network rules.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Work with the service-to-service allow-list.",
        subcommands: [Check.self, Render.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate an allow-list file.")

        @Option(help: "The allow-list file.") var file: String = "Deploy/policy/allowlist.yaml"

        func run() async throws {
            let list = try AllowList(contentsOf: file)
            print("policy: \(list.rules.count) rule(s), valid")
        }
    }

    /// The network-layer rules a deployment loads: who may connect to whose internal port.
    struct Render: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render the allow-list as Kubernetes NetworkPolicies or an nftables ruleset (standard output)."
        )

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case kubernetes, nftables
        }

        @Option(help: "kubernetes or nftables.") var format: Format
        @Option(help: "The allow-list file.") var file: String = "Deploy/policy/allowlist.yaml"
        @Option(help: "kubernetes: comma-separated pod CIDRs of the other regions, for cross-region flows.") var peerCidrs: String = ""
        @Option(help: "nftables: the first internal port; services follow in order gateway, identity, tickets, audit, backup, status.") var basePort: Int = 9100

        func validate() throws {
            guard (1...(65535 - 5)).contains(basePort) else { throw ValidationError("--base-port must leave room for six ports below 65536") }
            guard peers.allSatisfy(Self.isCIDR) else { throw ValidationError("--peer-cidrs must be CIDRs such as 10.20.0.0/16") }
        }

        var peers: [String] { peerCidrs.split(separator: ",").map { String($0) } }

        /// An IPv4 or IPv6 network in CIDR notation (address/prefix length within the family's bits).
        static func isCIDR(_ text: String) -> Bool {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let length = Int(parts[1]), parts[1].allSatisfy(\.isASCII) else { return false }
            var address = in6_addr()
            if inet_pton(AF_INET, String(parts[0]), &address) == 1 { return (0...32).contains(length) }
            if inet_pton(AF_INET6, String(parts[0]), &address) == 1 { return (0...128).contains(length) }
            return false
        }

        func run() async throws {
            let flows = NetworkFlow.flows(in: try AllowList(contentsOf: file))
            switch format {
            case .kubernetes: print(KubernetesNetworkPolicies(flows: flows, peerCIDRs: peers).render(), terminator: "")
            case .nftables: print(NFTablesRuleset(flows: flows, basePort: basePort).render(), terminator: "")
            }
        }
    }
}
