@testable import Control
import Foundation
import RampartCore
import RampartTransport
import Testing

/// `rampartctl policy render`: the allow-list as Kubernetes NetworkPolicies and nftables rules.
@Suite("Policy rendering")
struct PolicyRenderTests {
    var shipped: AllowList { get throws { try AllowList(contentsOf: RunningService.allowListPath) } }

    /// The YAML document of the NetworkPolicy called `name` in a rendered file.
    func document(_ name: String, in rendered: String) throws -> String {
        try #require(rendered.components(separatedBy: "\n---\n").first { $0.contains("\n  name: \(name)\n") })
    }

    @Test func flowsJoinRulesPerPairAndExpandTheWildcard() throws {
        let list = try AllowList(rules: [
            .init(from: "gateway", to: "identity", routes: ["/login"]),
            .init(from: "status", to: "*", routes: ["/healthz"], crossRegion: true),
            .init(from: "gateway", to: "identity", routes: ["/api/v1/"], methods: ["GET"]),
            .init(from: "operator", to: "audit", routes: ["/internal/v1/operator/"]),
        ])
        let flows = NetworkFlow.flows(in: list)
        #expect(flows == [
            NetworkFlow(caller: "status", service: .gateway, crossRegion: true),
            NetworkFlow(caller: "gateway", service: .identity, crossRegion: false),
            NetworkFlow(caller: "status", service: .identity, crossRegion: true),
            NetworkFlow(caller: "status", service: .tickets, crossRegion: true),
            NetworkFlow(caller: "status", service: .audit, crossRegion: true),
            NetworkFlow(caller: "operator", service: .audit, crossRegion: false),
            NetworkFlow(caller: "status", service: .backup, crossRegion: true),
            NetworkFlow(caller: "status", service: .status, crossRegion: true),
        ])
    }

    @Test func kubernetesIngressAdmitsOnlyListedCallers() throws {
        let rendered = KubernetesNetworkPolicies(flows: NetworkFlow.flows(in: try shipped), peerCIDRs: []).render()
        let identity = try document("allow-to-identity", in: rendered)
        for caller in ["gateway", "tickets", "audit", "backup", "status", "rampartctl", "identity"] {
            #expect(identity.contains("app.kubernetes.io/name: \(caller)\n"), "\(caller) may call identity")
        }
        // Audit never calls tickets: no rule names it.
        let tickets = try document("allow-to-tickets", in: rendered)
        #expect(!tickets.contains("app.kubernetes.io/name: audit\n"))
        #expect(tickets.contains("app.kubernetes.io/name: gateway\n"))
        #expect(identity.contains("policyTypes: [Ingress]"))
        #expect(identity.contains("port: \(KubernetesNetworkPolicies.internalPort)}"))
        // Nothing may open a connection to the gateway's internal port but status, operators and itself.
        let gateway = try document("allow-to-gateway", in: rendered)
        #expect(gateway.components(separatedBy: "- from:").count - 1 == 3)
        // Egress mirrors ingress: tickets may reach identity (the staff directory), audit (events)
        // and itself (its probe), nothing else.
        let fromTickets = try document("allow-from-tickets", in: rendered)
        #expect(fromTickets.contains("policyTypes: [Egress]"))
        #expect(fromTickets.contains("# tickets -> audit"))
        #expect(fromTickets.contains("# tickets -> identity"))
        #expect(!fromTickets.contains("# tickets -> gateway") && !fromTickets.contains("# tickets -> backup"))
        #expect(fromTickets.components(separatedBy: "- to:").count - 1 == 3)
    }

    @Test func onlyCrossRegionFlowsAdmitPeerNetworks() throws {
        let rendered = KubernetesNetworkPolicies(flows: NetworkFlow.flows(in: try shipped), peerCIDRs: ["10.20.0.0/16", "10.30.0.0/16"]).render()
        let identity = try document("allow-to-identity", in: rendered)
        let rules = identity.components(separatedBy: "    # ").dropFirst()
        let fromStatus = try #require(rules.first { $0.hasPrefix("status -> identity") })
        #expect(fromStatus.contains("ipBlock: {cidr: 10.20.0.0/16}") && fromStatus.contains("ipBlock: {cidr: 10.30.0.0/16}"))
        for rule in rules where !rule.hasPrefix("status -> identity") {
            #expect(!rule.contains("ipBlock"), "only status crosses regions to identity: \(rule)")
        }
        let withoutPeers = KubernetesNetworkPolicies(flows: NetworkFlow.flows(in: try shipped), peerCIDRs: []).render()
        #expect(!withoutPeers.contains("ipBlock"))
    }

    @Test func nftablesAcceptsOnlyListedSources() throws {
        let ruleset = NFTablesRuleset(flows: NetworkFlow.flows(in: try shipped), basePort: 9100)
        let lines = ruleset.render().split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let identityPort = ruleset.port(of: .identity), auditPort = ruleset.port(of: .audit), ticketsPort = ruleset.port(of: .tickets)
        #expect(identityPort == 9101 && auditPort == 9103)
        #expect(lines.contains("tcp dport \(identityPort) ip saddr @gateway accept comment \"gateway -> identity\""))
        #expect(lines.contains("tcp dport \(auditPort) ip saddr @tickets accept comment \"tickets -> audit\""))
        #expect(lines.contains("tcp dport \(identityPort) ip saddr @status_peers accept comment \"status (other regions) -> identity\""))
        #expect(lines.contains("tcp dport \(identityPort) ip saddr @tickets accept comment \"tickets -> identity\""))
        #expect(lines.contains("tcp dport \(identityPort) ip saddr @audit accept comment \"audit -> identity\""))
        #expect(!lines.contains { $0.hasPrefix("tcp dport \(ticketsPort) ip saddr @audit ") }, "audit never calls tickets")
        #expect(!lines.contains { $0.hasPrefix("tcp dport \(identityPort) ip saddr @gateway_peers ") })
        // Every accept comes before the final drop of the whole internal port range.
        let drop = try #require(lines.firstIndex(of: "tcp dport 9100-9105 counter drop comment \"not in the allow-list\""))
        #expect(lines.lastIndex { $0.hasSuffix("\"") && $0.contains(" accept comment ") } ?? 0 < drop)
        #expect(lines.filter { $0.contains(" drop") }.count == 1)
    }

    @Test func renderingIsDeterministicWhateverTheRuleOrder() throws {
        let rules = try shipped.rules
        let shuffled = try AllowList(rules: rules.shuffled())
        let reversed = try AllowList(rules: rules.reversed())
        for list in [shuffled, reversed] {
            #expect(KubernetesNetworkPolicies(flows: NetworkFlow.flows(in: list), peerCIDRs: ["10.1.0.0/16"]).render()
                == KubernetesNetworkPolicies(flows: NetworkFlow.flows(in: try shipped), peerCIDRs: ["10.1.0.0/16"]).render())
            #expect(NFTablesRuleset(flows: NetworkFlow.flows(in: list), basePort: 9100).render()
                == NFTablesRuleset(flows: NetworkFlow.flows(in: try shipped), basePort: 9100).render())
        }
    }

    /// The committed rules cannot drift from the allow-list: each equals a fresh render.
    @Test(arguments: ["us", "eu", "uk"])
    func committedKubernetesPoliciesEqualAFreshRender(region: String) throws {
        let overlay = DeployTree.path("kubernetes/overlays/\(region)")
        let peers = try String(contentsOfFile: overlay + "/peer-cidrs", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let committed = try String(contentsOfFile: overlay + "/network-allow.yaml", encoding: .utf8)
        let fresh = KubernetesNetworkPolicies(flows: NetworkFlow.flows(in: try shipped), peerCIDRs: peers.split(separator: ",").map(String.init)).render()
        #expect(committed == fresh, "re-render with Deploy/scripts/render-policies.sh")
    }

    @Test func committedNFTablesRulesEqualAFreshRender() throws {
        let committed = try String(contentsOfFile: DeployTree.path("systemd/nftables/rampart.nft"), encoding: .utf8)
        #expect(committed == NFTablesRuleset(flows: NetworkFlow.flows(in: try shipped), basePort: 9100).render(), "re-render with Deploy/scripts/render-policies.sh")
    }

    @Test(arguments: [
        ["--format", "yaml"],
        ["--format", "kubernetes", "--peer-cidrs", "10.0.0.0/33"],
        ["--format", "kubernetes", "--peer-cidrs", "10.0.0.0"],
        ["--format", "kubernetes", "--peer-cidrs", "example.com/16"],
        ["--format", "nftables", "--base-port", "65533"],
    ])
    func renderRefusesBadOptions(_ options: [String]) {
        #expect(throws: (any Error).self) { try RampartCtl.parseAsRoot(["policy", "render"] + options) }
    }
}

/// Paths in the repository's `Deploy/` folder.
enum DeployTree {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Deploy")
    }

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}
