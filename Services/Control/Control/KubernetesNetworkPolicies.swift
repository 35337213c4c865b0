import RampartCore

/// The allow-list as Kubernetes NetworkPolicies, on top of the base's default-deny: per service
/// one ingress policy naming who may connect to its internal port, per caller one egress policy
/// naming where it may connect. Pods are selected by `app.kubernetes.io/name`; operators are
/// `rampartctl` pods. Other regions' callers are matched by `peerCIDRs`, their pod networks.
public struct KubernetesNetworkPolicies: Sendable {
    public let flows: [NetworkFlow]
    /// Address ranges of the other regions' pods, for `cross_region` flows (none: same region only).
    public let peerCIDRs: [String]

    /// The container port every service's internal (mutual TLS) listener uses in the cluster.
    public static let internalPort = 9443

    public init(flows: [NetworkFlow], peerCIDRs: [String]) {
        self.flows = flows
        self.peerCIDRs = peerCIDRs
    }

    /// The `app.kubernetes.io/name` of a caller's pods.
    static func podName(of caller: String) -> String {
        caller == "operator" ? "rampartctl" : caller
    }

    /// Multi-document YAML, the same bytes for the same flows and peers.
    public func render() -> String {
        var documents: [[String]] = []
        for service in ServiceName.allCases {
            let inbound = flows.filter { $0.service == service }
            guard !inbound.isEmpty else { continue }
            documents.append(policy(name: "allow-to-\(service)", pods: service.rawValue, type: "Ingress", rules: inbound.map { flow in
                rule(comment: "\(flow.caller) -> \(flow.service)", direction: "from", peer: Self.podName(of: flow.caller), crossRegion: flow.crossRegion)
            }))
        }
        for caller in NetworkFlow.callers {
            let outbound = flows.filter { $0.caller == caller }
            guard !outbound.isEmpty else { continue }
            documents.append(policy(name: "allow-from-\(Self.podName(of: caller))", pods: Self.podName(of: caller), type: "Egress", rules: outbound.map { flow in
                rule(comment: "\(flow.caller) -> \(flow.service)", direction: "to", peer: flow.service.rawValue, crossRegion: flow.crossRegion)
            }))
        }
        let header = [
            "# Rendered by `rampartctl policy render --format kubernetes` from Deploy/policy/allowlist.yaml",
            "# (peer CIDRs: \(peerCIDRs.isEmpty ? "none" : peerCIDRs.joined(separator: ","))). Do not edit: the test suite",
            "# fails when this file differs from a fresh render.",
        ]
        return (header + documents.flatMap { ["---"] + $0 }).joined(separator: "\n") + "\n"
    }

    private func policy(name: String, pods: String, type: String, rules: [[String]]) -> [String] {
        [
            "apiVersion: networking.k8s.io/v1",
            "kind: NetworkPolicy",
            "metadata:",
            "  name: \(name)",
            "  labels:",
            "    app.kubernetes.io/part-of: rampart",
            "spec:",
            "  podSelector:",
            "    matchLabels:",
            "      app.kubernetes.io/name: \(pods)",
            "  policyTypes: [\(type)]",
            "  \(type.lowercased()):",
        ] + rules.flatMap { $0 }
    }

    /// One ingress or egress rule: the peer's pods in this namespace, plus the other regions'
    /// pod networks when the flow crosses regions; the internal port only.
    private func rule(comment: String, direction: String, peer: String, crossRegion: Bool) -> [String] {
        let peers = crossRegion ? peerCIDRs : []
        return [
            "    # \(comment)\(crossRegion ? " (also \(direction) other regions)" : "")",
            "    - \(direction):",
            "        - podSelector:",
            "            matchLabels:",
            "              app.kubernetes.io/name: \(peer)",
        ] + peers.map { "        - ipBlock: {cidr: \($0)}" } + [
            "      ports:",
            "        - {protocol: TCP, port: \(Self.internalPort)}",
        ]
    }
}
